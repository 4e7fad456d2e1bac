import type { UserInfo } from "./api/userinfo.ts";
import type { CliError } from "./errors.ts";

/** What each command returns; src/output.ts is the only place that turns these into text. */
export type CommandResult = StatusResult | MeResult | LogoutResult | TokenResult | LoginResult | HelpResult;

export type StatusResult =
  | {
      kind: "status";
      authenticated: false;
      /** A stored session belongs to this server, not to the one PIPEOPS_API_URL names. */
      storedFor?: string;
    }
  | {
      kind: "status";
      authenticated: true;
      email: string | null;
      expiresAt: Date | null;
      /** Set when the token is expired or rejected; the status is then a failure (exit 1). */
      problem: CliError | null;
    };

export interface MeResult {
  kind: "me";
  user: UserInfo;
}

export interface LogoutResult {
  kind: "logout";
  outcome: "logged_out" | "not_logged_in" | "cancelled";
  /** PIPEOPS_AUTH_TOKEN is set and keeps authenticating after the file's credentials are gone. */
  envTokenStillSet: boolean;
  /** With --revoke: the server revoked the tokens, or why not (a warning: the local logout happened anyway). */
  revocation?: { revoked: true } | { revoked: false; problem: CliError };
}

export interface TokenResult {
  kind: "token";
  token: string;
}

export interface LoginResult {
  kind: "login";
  email: string;
  /** Set when PIPEOPS_AUTH_TOKEN is set: it keeps winning over the credentials just stored. */
  envTokenOverrides?: true;
}

export interface HelpResult {
  kind: "help";
  text: string;
}
