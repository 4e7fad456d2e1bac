/** `pipeops auth status`: whether this machine is authenticated, checked with the server. */

import { CliError, EXIT_FAILURE, EXIT_OK, LOGIN_HINT, storedSessionLine } from "../../cli-error.ts";
import { type Command, JSON_FLAG, parseFlags, type Streams } from "../../command.ts";
import type { Context } from "../../context.ts";
import { printError, printJson, SYMBOL_FAIL, successLine } from "../../output.ts";
import { DEFAULT_API_URL, resolveApiUrl, serverName } from "../../server/url.ts";
import { isServiceAccountToken, isSession, loadSession, type NoSession, type Session } from "../../session/session.ts";
import { formatLocal, formatRfc3339 } from "../../time.ts";

export interface StatusOptions {
  json: boolean;
}

/** A session was found for the server and checked with it: valid when `problem` is null. */
export interface AuthenticatedStatus {
  authenticated: true;
  email: string | null;
  /** Never set for a service-account token, which does not expire. */
  expiresAt: Date | null;
  /** A login session, or a workspace service-account token (`sat_…`). */
  tokenType?: "oauth" | "service_account";
  /** The variable the token came from, or the file's path. */
  tokenSource?: string;
  /** Seconds until the token expires, by the server's clock, when it expires at all. */
  expiresInSeconds?: number;
  /** Why the token is not valid: expired, rejected, or the server could not say. Exit 1. */
  problem: CliError | null;
  /** The server asked, and where the token came from: `env`, or the file's path. */
  server?: string;
  source?: string;
}

/** No session for the server this invocation talks to. */
export interface NotAuthenticatedStatus {
  authenticated: false;
  /** The server this invocation talks to, when it could be told. */
  server?: string;
  /** A stored session belongs to this server, not to the one PIPEOPS_API_URL names. */
  storedFor?: string;
  /** Why the credentials could not be read (a broken file). */
  problem?: CliError;
}

export type StatusResult = AuthenticatedStatus | NotAuthenticatedStatus;

/**
 * Verifies the session with the server, refreshing it when it expires within a minute, and reports
 * the expiry of the token actually used. Whatever goes wrong after the options are read is part of
 * the status (exit 1), so `--json` always prints one document.
 */
async function run(ctx: Context, _options: StatusOptions): Promise<StatusResult> {
  let session: Session | NoSession;
  try {
    session = await loadSession(ctx);
  } catch (error) {
    if (isReportable(error)) return { authenticated: false, problem: error };
    throw error;
  }
  // Checking with the server is a function of its own: the usual offline answer never compiles it.
  return isSession(session) ? checkWithServer(ctx, session) : notAuthenticated(ctx, session);
}

function notAuthenticated(ctx: Context, found: NoSession): StatusResult {
  const server = serverName(resolveApiUrl(ctx));
  return found.storedFor ? { authenticated: false, storedFor: found.storedFor, server } : { authenticated: false, server };
}

async function checkWithServer(ctx: Context, session: Session): Promise<StatusResult> {
  // The OAuth stack loads only for a session to check.
  const [{ withSession }, { fetchUserInfo }] = await Promise.all([import("../../session/authenticated.ts"), import("../../oauth/userinfo.ts")]);
  const serviceAccount = isServiceAccountToken(session.accessToken);
  const origin = {
    server: serverName(session.apiUrl),
    source: session.source === "env" ? "env" : ctx.store().path,
    tokenType: serviceAccount ? ("service_account" as const) : ("oauth" as const),
    tokenSource: session.variable ?? ctx.store().path,
  };
  const expiry = (expiresAt: Date | undefined, now: number) =>
    serviceAccount || !expiresAt ? { expiresAt: null } : { expiresAt, expiresInSeconds: Math.floor((expiresAt.getTime() - now) / 1000) };
  try {
    let serverNow = ctx.now();
    const { value: user, session: used } = await withSession(ctx, session, async (token, conn) => {
      const user = await fetchUserInfo(conn, token);
      serverNow = conn.clock.now();
      return user;
    });
    return { authenticated: true, email: user.email ?? user.id, ...expiry(used.expiresAt, serverNow), problem: null, ...origin };
  } catch (error) {
    if (isReportable(error)) return { authenticated: true, email: null, ...expiry(session.expiresAt, ctx.now()), problem: error, ...origin };
    throw error;
  }
}

/** Usage errors and Ctrl-C stay errors of the invocation; everything else is the status. */
function isReportable(error: unknown): error is CliError {
  return error instanceof CliError && error.code !== "usage" && error.code !== "interrupted";
}

function render({ stdout, stderr }: Streams, result: StatusResult, options: StatusOptions): void {
  if (options.json) {
    printJson(stdout, toJson(result));
  } else if (result.problem) {
    printError(stderr, result.problem);
  } else if (!result.authenticated) {
    const stored = result.storedFor ? `${storedSessionLine(result.storedFor)}\n` : "";
    stdout.write(`${stdout.colors.red(SYMBOL_FAIL)} Not authenticated\n${stdout.quiet ? "" : `${LOGIN_HINT}\n${stored}`}`);
  } else {
    const expires =
      result.tokenType === "service_account"
        ? "Token: a service-account token, which does not expire\n"
        : result.expiresAt
          ? `Token expires: ${formatLocal(result.expiresAt)}\n`
          : "";
    // After the spec's two lines, and only for a server other than production.
    const server = result.server && result.server !== DEFAULT_API_URL ? `Server: ${result.server}\n` : "";
    // --quiet: the essential line alone.
    stdout.write(successLine(stdout, `Authenticated as ${result.email ?? "unknown user"}`) + (stdout.quiet ? "" : expires + server));
  }
}

/**
 * The spec's keys in its order, then where the answer comes from, then the official CLI's keys
 * (PipeOpsHQ/pipeops-cli cmd/status.go) so scripts written for either tool work; `error` only when
 * something is wrong.
 */
export function toJson(result: StatusResult): Record<string, unknown> {
  const origin = { api_url: result.server ?? null, source: (result.authenticated && result.source) || null };
  const error = result.problem ? { error: result.problem.message } : {};
  if (!result.authenticated) {
    return { authenticated: false, email: null, expires_at: null, token_valid: false, ...origin, api_endpoint: result.server ?? null, ...error };
  }
  const expiresAt = result.expiresAt ? formatRfc3339(result.expiresAt) : null;
  const official = {
    api_endpoint: result.server ?? null,
    token_type: result.tokenType ?? "oauth",
    token_source: result.tokenSource ?? null,
    // For a login session, as the official CLI has them; a service-account token has no expiry.
    ...(result.tokenType === "service_account" ? {} : { token_expires_at: expiresAt, token_expires_in_seconds: result.expiresInSeconds ?? null }),
  };
  return { authenticated: true, email: result.email, expires_at: expiresAt, token_valid: result.problem === null, ...origin, ...official, ...error };
}

const FLAGS = [JSON_FLAG] as const;

export const command: Command<StatusOptions, StatusResult, typeof FLAGS> = {
  name: "auth status",
  summary: "Check current authentication status",
  flags: FLAGS,
  examples: ["pipeops auth status", "pipeops auth status --json"],
  parse: async (argv) => ({ json: (await parseFlags(command, argv)).json ?? false }),
  run,
  render,
  exitCode: (result) => (result.authenticated && !result.problem ? EXIT_OK : EXIT_FAILURE),
  // A bad setting (exit 2) or Ctrl-C still ends the invocation, with a document saying why.
  reportsJson: (options) => options.json,
};
