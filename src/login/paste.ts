/**
 * For users whose browser cannot reach this machine (SSH): the authorization response pasted on
 * stdin, as the address the browser ended on, its query, or the bare code. A wrong paste is
 * explained and asked for again; nothing pasted is ever repeated on screen.
 */
import type { Context } from "../context.ts";
import type { ServerConnection } from "../server/connect.ts";
import { sameState } from "../server/state.ts";
import type { LoginReporter } from "./progress.ts";

/** An authorization response handed over by the user: a redirect URL, or just the code. */
export type PastedAnswer = { kind: "params"; params: URLSearchParams } | { kind: "wrong_state" } | { kind: "unrecognised" };

/** What a response carries: a code or (PipeOps) the token itself, or an error. */
const RESPONSE_KEYS = ["code", "error", "token", "access_token"] as const;

export function parsePastedAnswer(line: string, conn: ServerConnection, expectedState: string): PastedAnswer {
  const text = line.trim();
  if (text === "") return { kind: "unrecognised" };
  const asUrl = URL.canParse(text) ? new URL(text) : undefined;
  const query = asUrl ? asUrl.searchParams : text.includes("=") ? new URLSearchParams(text.replace(/^\?/, "")) : undefined;
  if (query && RESPONSE_KEYS.some((key) => query.has(key))) {
    const state = query.get("state");
    if (state === null || !sameState(state, expectedState)) return { kind: "wrong_state" };
    return { kind: "params", params: query };
  }
  if (asUrl || !/^[\x21-\x7e]{1,2048}$/.test(text)) return { kind: "unrecognised" };
  // A bare code typed by the user comes from no redirect, so there is no state or iss to check;
  // add the expected ones so the response validation applies unchanged.
  const params = new URLSearchParams({ code: text, state: expectedState });
  if (conn.as.authorization_response_iss_parameter_supported) params.set("iss", conn.as.issuer);
  return { kind: "params", params };
}

/** Why a pasted line was not taken: one line, then the CLI waits for another. */
const PASTE_NOTICES = {
  wrong_state: "That address belongs to a different sign-in; paste the one from this login.",
  unrecognised: "That is not a sign-in address or code; paste the whole address from the browser's address bar.",
} as const;

export interface PastedAnswers {
  /** The next line that looks like an answer for this login; never settles at end of input. */
  next(): Promise<{ params: URLSearchParams; pasted: true }>;
}

/** Lines pasted on stdin that look like an answer for this login; the others are explained. Never ends at end of input. */
export function pastedAnswers(ctx: Pick<Context, "stdin">, conn: ServerConnection, state: string, reporter: LoginReporter): PastedAnswers {
  let reading: Promise<{ params: URLSearchParams; pasted: true }> | undefined;
  const read = async (): Promise<{ params: URLSearchParams; pasted: true }> => {
    for (;;) {
      const line = await ctx.stdin.readLine();
      if (line === null) return new Promise<never>(() => {});
      const answer = parsePastedAnswer(line, conn, state);
      if (answer.kind === "params") return { params: answer.params, pasted: true };
      reporter.notice(PASTE_NOTICES[answer.kind]);
    }
  };
  return {
    // One read at a time: a race lost to the browser keeps its read for the next round.
    next() {
      reading ??= read();
      const current = reading;
      void current.then(() => {
        if (reading === current) reading = undefined;
      });
      return current;
    },
  };
}
