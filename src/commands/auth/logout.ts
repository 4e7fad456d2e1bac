/** `pipeops auth logout`: removes the local credentials; `--revoke` also revokes them at the server. */
import { type Command, type FlagSpec, parseFlags, type Streams } from "../../command.ts";
import { acquireLock, lockPathFor } from "../../config/lock.ts";
import type { StoredCredentials } from "../../config/store.ts";
import type { Context } from "../../context.ts";
import { CliError, keyringEntryMissing, logoutUnconfirmed, revokeFailed } from "../../errors.ts";
import { revokeTokens } from "../../oauth/revocation.ts";
import { printWarning, successLine } from "../../output.ts";
import { connect } from "../../server/connect.ts";
import { FILE_API_URL, parseServerUrl, resolveApiUrl } from "../../server/url.ts";
import { type EnvTokenVariable, envToken } from "../../session/session.ts";

export interface LogoutOptions {
  force: boolean;
  /** Also revoke the tokens at the server (RFC 7009); not part of the spec's plain logout. */
  revoke: boolean;
}

export interface LogoutResult {
  outcome: "logged_out" | "not_logged_in" | "cancelled";
  /** A token variable that is set and keeps authenticating after the file's credentials are gone. */
  envTokenStillSet?: EnvTokenVariable;
  /** With --revoke: the server revoked the tokens, or why not (a warning: the local logout happened anyway). */
  revocation?: { revoked: true } | { revoked: false; problem: CliError };
  /** The file said its tokens were in the keyring, but no entry was found for it: the file's path, for the warning. */
  noKeyringEntry?: string;
}

export const LOGOUT_PROMPT = "Are you sure you want to logout? [y/N] ";

/**
 * Removes the stored credentials (ours and the Go CLI's). Without --revoke there is no server call,
 * as the spec says; with it the tokens are revoked first, and a failure to do so is only a warning.
 */
async function run(ctx: Context, options: LogoutOptions): Promise<LogoutResult> {
  const envTokenStillSet = envToken(ctx.env)?.variable;
  const store = ctx.store();
  const { credentials, apiUrl, data } = await store.read();
  // A file that says its tokens are in the keyring is a session to log out of, even when its entry cannot be found.
  const keyringMarker = data.credential_store === "keyring";
  if (!credentials && !keyringMarker) return { outcome: "not_logged_in", envTokenStillSet };
  if (!options.force && !(await confirm(ctx))) return { outcome: "cancelled", envTokenStillSet };
  const revocation = options.revoke && credentials ? await revoke(ctx, credentials, apiUrl) : undefined;
  await clearLocked(ctx);
  return { outcome: "logged_out", envTokenStillSet, ...(revocation ? { revocation } : {}), ...(credentials ? {} : { noKeyringEntry: store.path }) };
}

/**
 * Reads the answer from stdin, terminal or pipe; only y/yes agrees. End of input is no answer at
 * all, never a hang: a usage error (exit 2) that names --force, so a script learns how to skip it.
 */
async function confirm(ctx: Context): Promise<boolean> {
  ctx.stderr.write(LOGOUT_PROMPT);
  const answer = await ctx.stdin.readLine();
  if (answer === null) {
    ctx.stderr.write("\n");
    throw logoutUnconfirmed();
  }
  return /^\s*(y|yes)\s*$/i.test(answer);
}

/**
 * RFC 7009: revokes the refresh token (which ends the whole grant at most servers), then the access
 * token, at the server's revocation_endpoint. Never throws: a failure becomes the result's warning.
 */
async function revoke(ctx: Context, credentials: StoredCredentials, storedApiUrl: string | undefined): Promise<NonNullable<LogoutResult["revocation"]>> {
  try {
    // To the server the tokens were issued by, whatever PIPEOPS_API_URL names.
    const conn = await connect(ctx, storedApiUrl ? parseServerUrl(storedApiUrl, FILE_API_URL) : resolveApiUrl(ctx));
    await revokeTokens(conn, credentials);
    return { revoked: true };
  } catch (error) {
    return { revoked: false, problem: revokeFailed(error) };
  }
}

/** Clears under the refresh lock, so a refresh running in another process cannot write the session back. */
async function clearLocked(ctx: Context): Promise<void> {
  const store = ctx.store();
  // Where no lock can be made (a read-only folder), clear anyway: its error is the one to report.
  const lock = await lockPathFor(store.path)
    .then((path) => acquireLock(ctx, path))
    .catch((error: unknown) => {
      if (error instanceof CliError) return undefined;
      throw error;
    });
  try {
    await store.clear();
  } finally {
    await lock?.release();
  }
}

function render({ stdout, stderr }: Streams, result: LogoutResult): void {
  if (result.revocation?.revoked) stdout.write(successLine(stdout, "Revoked the tokens at the server"));
  else if (result.revocation) printWarning(stderr, result.revocation.problem.message, result.revocation.problem.hint);
  if (result.noKeyringEntry) printWarning(stderr, ...keyringEntryMissing(result.noKeyringEntry));
  if (result.outcome === "logged_out") stdout.write(successLine(stdout, "Successfully logged out"));
  else if (result.outcome === "not_logged_in") stdout.write("Not logged in: there are no stored credentials to remove\n");
  else stderr.write("Logout cancelled\n");
  if (result.envTokenStillSet && result.outcome !== "cancelled") {
    printWarning(stderr, `${result.envTokenStillSet} is set and still authenticates until you unset it`, `Run 'unset ${result.envTokenStillSet}'`);
  }
}

const FLAGS = [
  { name: "--force", short: "-f", description: "Skip confirmation prompt" },
  { name: "--revoke", description: "Also revoke the tokens at the server" },
] as const satisfies readonly FlagSpec[];

export const command: Command<LogoutOptions, LogoutResult, typeof FLAGS> = {
  name: "auth logout",
  summary: "Sign out and remove local credentials",
  flags: FLAGS,
  examples: ["pipeops auth logout", "pipeops auth logout --force", "pipeops auth logout --force --revoke"],
  async parse(argv) {
    const flags = await parseFlags(command, argv);
    return { force: flags.force ?? false, revoke: flags.revoke ?? false };
  },
  run,
  render,
};
