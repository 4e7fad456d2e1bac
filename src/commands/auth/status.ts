/** `pipeops auth status`: whether this machine is authenticated, checked with the server. */

import { CliError, EXIT_FAILURE, EXIT_OK, LOGIN_HINT, storedSessionLine } from "../../cli-error.ts";
import { type Command, JSON_FLAG, parseFlags, type Streams } from "../../command.ts";
import type { Context } from "../../context.ts";
import { printError, printJson, SYMBOL_FAIL, successLine } from "../../output.ts";
import { DEFAULT_API_URL, resolveApiUrl, serverName } from "../../server/url.ts";
import { canRefresh, isServiceAccountToken, isSession, loadSession, type NoSession, type Session } from "../../session/session.ts";
import { formatDuration, formatLocal, formatRfc3339, parseDuration } from "../../time.ts";

export interface StatusOptions {
  json: boolean;
  /** --min-remaining: how long the credential must stay valid, in seconds; exit 3 when it will not. */
  minRemainingSeconds?: number;
}

/** Exit 3: authenticated, but the token ends before the time --min-remaining asks for. */
export const EXIT_TOO_SHORT = 3;

/** What --min-remaining found: the time asked for, the time left (null: it does not expire, or cannot say), and whether that is enough. */
export interface RemainingCheck {
  askedSeconds: number;
  remainingSeconds: number | null;
  ok: boolean;
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
  /** Only with --min-remaining. */
  remaining?: RemainingCheck;
  /** Where stored tokens are kept; null for a token from the environment. */
  credentialStore?: "file" | "keyring" | null;
  /** For a token from the environment: the credential file that also holds a session, which the token wins over. */
  shadows?: string;
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
async function run(ctx: Context, options: StatusOptions): Promise<StatusResult> {
  let session: Session | NoSession;
  try {
    session = await loadSession(ctx);
  } catch (error) {
    if (isReportable(error)) return { authenticated: false, problem: error };
    throw error;
  }
  // Checking with the server is a function of its own: the usual offline answer never compiles it.
  if (!isSession(session)) return notAuthenticated(ctx, session);
  const status = await checkWithServer(ctx, session, options);
  const shadows = session.source === "env" ? await storedSessionFile(ctx) : undefined;
  return shadows && status.authenticated ? { ...status, shadows } : status;
}

/** The credential file, when it holds a session of its own; a file that cannot be read is not this command's business here. */
async function storedSessionFile(ctx: Context): Promise<string | undefined> {
  const store = ctx.store();
  const snapshot = await store.read().catch(() => undefined);
  return snapshot?.credentials ? store.path : undefined;
}

function notAuthenticated(ctx: Context, found: NoSession): StatusResult {
  const server = serverName(resolveApiUrl(ctx));
  return found.storedFor ? { authenticated: false, storedFor: found.storedFor, server } : { authenticated: false, server };
}

async function checkWithServer(ctx: Context, session: Session, options: StatusOptions): Promise<StatusResult> {
  // The OAuth stack loads only for a session to check.
  const [{ withSession, renewSession }, { fetchUserInfo }, { claimedExpiry }] = await Promise.all([
    import("../../session/authenticated.ts"),
    import("../../oauth/userinfo.ts"),
    import("../../session/jwt.ts"),
  ]);
  const serviceAccount = isServiceAccountToken(session.accessToken);
  const origin = {
    server: serverName(session.apiUrl),
    source: session.source === "env" ? "env" : ctx.store().path,
    tokenType: serviceAccount ? ("service_account" as const) : ("oauth" as const),
    tokenSource: session.variable ?? ctx.store().path,
    credentialStore: session.source === "env" ? null : session.source === "keyring" ? ("keyring" as const) : ("file" as const),
  };
  // A token with no stored expiry (from the environment, --with-token, --token) may be a JWT that says when it ends.
  const expiry = (expiresAt: Date | undefined, now: number) =>
    expiresAt ? { expiresAt, expiresInSeconds: Math.floor((expiresAt.getTime() - now) / 1000) } : { expiresAt: null };
  try {
    // The server's clock, as its answers show it, less ours.
    let offsetMs = 0;
    const checked = await withSession(ctx, session, async (token, conn) => {
      const user = await fetchUserInfo(conn, token);
      offsetMs = conn.clock.now() - ctx.now();
      return user;
    });
    const user = checked.value;
    let used = checked.session;
    const left = () => {
      const expiresAt = claimedExpiry(used);
      return expiresAt ? (expiresAt.getTime() - ctx.now() - offsetMs) / 1000 : null;
    };
    let remaining: RemainingCheck | undefined;
    const asked = options.minRemainingSeconds;
    if (asked !== undefined) {
      // A session that can be renewed is, when its token would end inside the window: then judged by the new token.
      const before = left();
      if (before !== null && before < asked && canRefresh(used)) used = await renewSession(ctx, used);
      const after = left();
      remaining = { askedSeconds: asked, remainingSeconds: after === null ? null : Math.floor(after), ok: after === null || after >= asked };
    }
    return { authenticated: true, email: user.email ?? user.id, ...expiry(claimedExpiry(used), ctx.now() + offsetMs), problem: null, ...origin, remaining };
  } catch (error) {
    if (isReportable(error)) return { authenticated: true, email: null, ...expiry(claimedExpiry(session), ctx.now()), problem: error, ...origin };
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
    const shadows = result.shadows ? `Credentials: ${result.tokenSource}, which wins over the session stored in ${result.shadows}\n` : "";
    // --quiet: the essential line alone.
    stdout.write(successLine(stdout, `Authenticated as ${result.email ?? "unknown user"}`) + (stdout.quiet ? "" : expires + server + shadows));
    if (result.remaining && !result.remaining.ok) printError(stderr, tooShort(result.remaining));
  }
}

/** Exit 3's line: when the token ends, against what was asked. */
function tooShort({ askedSeconds, remainingSeconds }: RemainingCheck): CliError {
  return new CliError(
    "token_expired",
    `the token expires in ${formatDuration(remainingSeconds ?? 0)}, sooner than the ${formatDuration(askedSeconds)} --min-remaining asks for`,
    "Run 'pipeops auth login' for a new session, or use a token that lasts longer",
  );
}

/**
 * The spec's keys in its order, then where the answer comes from, then the official CLI's keys
 * (PipeOpsHQ/pipeops-cli cmd/status.go) so scripts written for either tool work; `error` only when
 * something is wrong.
 */
export function toJson(result: StatusResult): Record<string, unknown> {
  const found = result.authenticated ? result : undefined;
  const valid = found !== undefined && found.problem === null;
  const expiresAt = found?.expiresAt ? formatRfc3339(found.expiresAt) : null;
  // A service-account token has no expiry, and a login session's is the official CLI's too.
  const sessionExpiry = found?.tokenType === "service_account" ? null : expiresAt;
  return {
    // True only for a credential the server accepted: what exit 0 (or 3, under --min-remaining) says.
    authenticated: valid,
    email: found?.email ?? null,
    expires_at: expiresAt,
    token_valid: valid,
    api_url: result.server ?? null,
    source: found?.source ?? null,
    api_endpoint: result.server ?? null,
    token_type: found?.tokenType ?? null,
    token_source: found?.tokenSource ?? null,
    token_expires_at: sessionExpiry,
    token_expires_in_seconds: sessionExpiry === null ? null : (found?.expiresInSeconds ?? null),
    credential_store: found?.credentialStore ?? null,
    remaining_seconds: found?.remaining?.remainingSeconds ?? null,
    min_remaining_ok: found?.remaining?.ok ?? null,
    error: result.problem?.message ?? null,
  };
}

const FLAGS = [
  JSON_FLAG,
  {
    name: "--min-remaining",
    value: "<duration>",
    description: "Exit 3 unless the token stays valid this long (45m, 2h, 1d); a session is renewed first if it can be",
  },
] as const;

async function parse(argv: readonly string[]): Promise<StatusOptions> {
  const flags = await parseFlags(command, argv);
  const raw = flags.minRemaining;
  if (raw === undefined) return { json: flags.json ?? false };
  const seconds = parseDuration(raw);
  if (seconds === undefined) throw (await import("../../errors.ts")).badDuration("--min-remaining", raw, "Run 'pipeops auth status --help' for usage");
  return { json: flags.json ?? false, minRemainingSeconds: seconds };
}

export const command: Command<StatusOptions, StatusResult, typeof FLAGS> = {
  name: "auth status",
  summary: "Check current authentication status",
  flags: FLAGS,
  examples: [
    "pipeops auth status",
    "pipeops auth status --json",
    "pipeops auth status --min-remaining 45m   # exit 3 when the token would not last a 45-minute job",
  ],
  parse,
  run,
  render,
  exitCode: (result) => (!result.authenticated || result.problem ? EXIT_FAILURE : result.remaining?.ok === false ? EXIT_TOO_SHORT : EXIT_OK),
  // A bad setting (exit 2) or Ctrl-C still ends the invocation, with a document saying why.
  reportsJson: (options) => options.json,
};
