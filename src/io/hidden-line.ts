/**
 * A line typed or pasted at the terminal without showing it (as `read -s` does), for secrets.
 * Echo is off while the line is typed and on again afterwards, whatever ends the wait.
 */
import type { Runtime } from "../runtime/types.ts";
import type { InputStream } from "./streams.ts";

export interface HiddenLineOptions {
  /** Written to stderr once echo is off. */
  prompt: string;
  /** What Ctrl-C rejects the read with. */
  interrupted: () => Error;
  maxChars: number;
}

/**
 * Shows the prompt and reads one line with echo off; null when echo could not be turned off (no
 * terminal, no stty, Windows), in which case nothing was shown or read and the caller asks in the open. Echo comes back on after the line,
 * on Ctrl-C (which rejects), on SIGTERM and SIGHUP (which end the process as they would have), each dropping what was typed,
 * and while the job is stopped (Ctrl-Z): the shell gets its echo, and `fg` hides the typing again.
 */
/** What the hidden read uses: the terminal on stdin, stderr for the prompt, and the process's signals. */
export interface HiddenLineContext extends Pick<Runtime, "onSignal" | "raise"> {
  readonly stdin: InputStream;
  readonly stderr: { write(text: string): void };
}

export async function readHiddenLine(ctx: HiddenLineContext, options: HiddenLineOptions): Promise<string | null> {
  const { stdin } = ctx;
  let rejectRead!: (error: Error) => void;
  const interrupted = new Promise<never>((_, reject) => (rejectRead = reject));
  const removers: (() => void)[] = [];
  const stopListening = () => {
    for (const remove of removers.splice(0)) remove();
  };
  // Keys typed so far would stay queued for the shell: a Ctrl-C at the keyboard drops them in the
  // kernel, but no signal sent by another process does (kill, timeout, a closing terminal).
  const endWith = (signal: "SIGTERM" | "SIGHUP") => () => {
    stopListening();
    stdin.discardTyped();
    stdin.setEcho(true);
    ctx.raise(signal);
  };
  // The handlers come first: a signal the moment echo is off must still turn it back on.
  removers.push(
    ctx.onSignal("SIGINT", () => {
      stdin.discardTyped();
      rejectRead(options.interrupted());
    }),
    ctx.onSignal("SIGTERM", endWith("SIGTERM")),
    ctx.onSignal("SIGHUP", endWith("SIGHUP")),
    ctx.onSignal("SIGTSTP", () => {
      stdin.setEcho(true);
      ctx.raise("SIGSTOP");
    }),
    ctx.onSignal("SIGCONT", () => void stdin.setEcho(false)),
  );
  const hidden = stdin.setEcho(false);
  try {
    if (!hidden) return null;
    ctx.stderr.write(options.prompt);
    return (await Promise.race([stdin.readLine(options.maxChars), interrupted])) ?? "";
  } finally {
    stopListening();
    if (hidden) stdin.setEcho(true);
  }
}
