/** Programs `pipeops update` runs under Bun: the new binary's --version, xz; the background check. */

/** See Runtime.capture. */
export async function capture(
  argv: readonly string[],
  { timeoutMs, maxBytes }: { timeoutMs: number; maxBytes: number },
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: Uint8Array }> {
  let child: ReturnType<typeof Bun.spawn>;
  try {
    child = Bun.spawn([...argv], { env, stdin: "ignore", stdout: "pipe", stderr: "ignore", timeout: timeoutMs });
  } catch {
    return { code: -1, stdout: new Uint8Array() };
  }
  const stdout = new Uint8Array(await new Response(child.stdout as ReadableStream<Uint8Array>).arrayBuffer()).subarray(0, maxBytes);
  return { code: await child.exited, stdout };
}
