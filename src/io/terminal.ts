/** The terminal on stdin: echo on or off, and typed input dropped, through POSIX stty. */

/** What stdin can do when it is a terminal (nothing, when it is not). */
export interface TerminalControls {
  /** Turns the terminal's echo of typed input off or back on; false when it cannot. */
  setEcho(on: boolean): boolean;
  /** Drops what was typed at the terminal and not read yet, so a line cut short never reaches the shell. */
  discardTyped(): void;
}

export const NO_TERMINAL: TerminalControls = { setEcho: () => false, discardTyped: () => {} };

/**
 * stty keeps line editing and Ctrl-C working. Typed input that was not read is dropped by reading
 * the terminal without waiting for a line, its settings put back afterwards.
 */
export function sttyControls(runOnTerminal: (argv: readonly string[]) => boolean): TerminalControls {
  return {
    setEcho: (on) => runOnTerminal(["stty", on ? "echo" : "-echo"]),
    discardTyped: () => void runOnTerminal(["sh", "-c", 'saved=$(stty -g) || exit 0; stty -icanon min 0 time 0 && cat >/dev/null; stty "$saved"']),
  };
}
