/** One line of `auth doctor`: what was checked, what was found, and for a warning or a failure the fix. */
export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  readonly name: string;
  readonly status: CheckStatus;
  /** What was found, in a line; never a token. */
  readonly detail: string;
  /** The fix, in a line, for a warning or a failure. */
  readonly hint?: string;
}

export const ok = (name: string, detail: string): Check => ({ name, status: "ok", detail });
export const warn = (name: string, detail: string, hint?: string): Check => ({ name, status: "warn", detail, hint });
export const fail = (name: string, detail: string, hint?: string): Check => ({ name, status: "fail", detail, hint });
