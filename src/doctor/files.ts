/**
 * `auth doctor`'s credential checks: the file (where it is and why, what it is, who may read it,
 * whether it parses and whose keys it holds) and the credentials in use (where from, what kind,
 * until when, whether they can be renewed). Never the token itself.
 */
import { configPath } from "../config/path.ts";
import type { ConfigSnapshot } from "../config/store.ts";
import { describeWriteProblem } from "../config/writable.ts";
import type { Context } from "../context.ts";
import { CliError, loginSaveWaysOut } from "../errors.ts";
import { fileStatus, writeProblem } from "../runtime/fs.ts";
import { isServiceAccountToken, isSession, loadSession, type Session } from "../session/session.ts";
import { formatDuration, formatLocal } from "../time.ts";
import { type Check, fail, ok, warn } from "./check.ts";

const FILE = "credential file";
const CREDENTIALS = "credentials";

/** Where the file's path came from: --config, PIPEOPS_CONFIG_PATH, or the default (as configPath() makes each). */
function pathSource(ctx: Context, path: string): string {
  const configured = Boolean(ctx.env.PIPEOPS_CONFIG_PATH?.trim());
  if (path === configPath(ctx.env, ctx.homedir)) return configured ? "PIPEOPS_CONFIG_PATH" : "the default";
  return configured ? "--config (over PIPEOPS_CONFIG_PATH)" : "--config";
}

/** Whose keys the file holds: ours (auth_token), the official CLI's (oauth.access_token), both or neither. */
function shapeOf(snapshot: ConfigSnapshot): string {
  const ours = typeof snapshot.data.auth_token === "string" && snapshot.data.auth_token !== "";
  const official = Boolean(snapshot.data.oauth?.access_token);
  if (ours && official) return "pipeops' keys and the official CLI's session";
  if (ours) return "pipeops' keys";
  if (official) return "the official CLI's session";
  return "no session";
}

export async function fileCheck(ctx: Context): Promise<{ check: Check; snapshot?: ConfigSnapshot }> {
  const store = ctx.store();
  const where = `${store.path} (${pathSource(ctx, store.path)})`;
  const status = await fileStatus(store.path).catch(() => undefined);
  // What a login or a refresh would find: a place that cannot take the file fails them before they start.
  const problem = status === undefined || status?.kind === "file" || status === null ? await writeProblem(store.path) : undefined;
  const unwritable = problem && describeWriteProblem(store.path, problem);
  if (status === null) {
    if (unwritable) return { check: fail(FILE, `${where}: not there yet, and cannot be created: ${unwritable.reason}`, loginSaveWaysOut(store.named)) };
    return { check: ok(FILE, `${where}: not there yet; a login creates it, 0600`) };
  }
  if (status && status.kind !== "file")
    return {
      check: fail(
        FILE,
        `${where} is a ${status.kind}, not a file`,
        store.named === "--config" ? "Give --config a file" : "Point PIPEOPS_CONFIG_PATH (or --config) at a file",
      ),
    };
  let snapshot: ConfigSnapshot;
  try {
    snapshot = await store.read();
  } catch (error) {
    if (error instanceof CliError) return { check: fail(FILE, `${where}: ${error.message}`, error.hint) };
    throw error;
  }
  const facts = [`${where}`, status ? `mode ${status.mode.toString(8).padStart(4, "0")}` : "", shapeOf(snapshot)].filter(Boolean).join(", ");
  if (unwritable) return { check: fail(FILE, `${facts}: cannot be written: ${unwritable.reason}`, loginSaveWaysOut(store.named)), snapshot };
  if (status && (status.mode & 0o077) !== 0) return { check: warn(FILE, `${facts}: other users can read it`, `chmod 600 ${store.path}`), snapshot };
  if (status && status.ownUid !== undefined && status.uid !== status.ownUid) {
    return {
      check: warn(
        FILE,
        `${facts}: owned by user ${status.uid}, not by you (${status.ownUid})`,
        `chown $(id -u) ${store.path}, or ${store.named === "--config" ? "give --config" : "point PIPEOPS_CONFIG_PATH at"} your own file`,
      ),
      snapshot,
    };
  }
  return { check: ok(FILE, facts), snapshot };
}

/** The token's kind, for the line: never any part of the token. */
function kindOf(token: string): string {
  if (isServiceAccountToken(token)) return "a service-account token (sat_), which does not expire";
  return token.split(".").length === 3 ? "a JWT" : "an opaque token";
}

export async function credentialsCheck(ctx: Context, fileReadable: boolean): Promise<{ check: Check; session?: Session }> {
  if (!fileReadable && !ctx.env.PIPEOPS_AUTH_TOKEN?.trim() && !ctx.env.PIPEOPS_TOKEN?.trim()) {
    return { check: warn(CREDENTIALS, "not checked: the credential file cannot be read", "Fix the credential file first") };
  }
  let found: Awaited<ReturnType<typeof loadSession>>;
  try {
    found = await loadSession(ctx);
  } catch (error) {
    if (error instanceof CliError) return { check: fail(CREDENTIALS, error.message, error.hint) };
    throw error;
  }
  if (!isSession(found)) {
    const elsewhere = found.storedFor ? `; the stored session belongs to ${found.storedFor}` : "";
    return { check: warn(CREDENTIALS, `none for this server${elsewhere}`, "Run 'pipeops auth login' (or set PIPEOPS_AUTH_TOKEN in CI)") };
  }
  const session = found;
  const source = session.variable
    ? `from ${session.variable} (the environment wins over the file)`
    : session.source === "go-cli"
      ? "from the official CLI's session in the file"
      : "from the file";
  const expiresAt = (await import("../session/jwt.ts")).claimedExpiry(session);
  const renewable = session.refreshToken && session.source !== "env" ? "a refresh token to renew it" : "no refresh token";
  const parts = [source, kindOf(session.accessToken)];
  if (!isServiceAccountToken(session.accessToken)) parts.push(renewable);
  if (!expiresAt) return { check: ok(CREDENTIALS, parts.join(", ")), session };
  const left = (expiresAt.getTime() - ctx.now()) / 1000;
  if (left > 0) return { check: ok(CREDENTIALS, `${parts.join(", ")}; expires ${formatLocal(expiresAt)}, in ${formatDuration(left)}`), session };
  if (session.refreshToken && session.source !== "env") {
    return { check: ok(CREDENTIALS, `${parts.join(", ")}; the access token expired ${formatLocal(expiresAt)} and is renewed at the next command`), session };
  }
  return { check: fail(CREDENTIALS, `${parts.join(", ")}; expired ${formatLocal(expiresAt)}`, "Run 'pipeops auth login' to re-authenticate"), session };
}

/** The OS keyring: in use or not, and whether it can be used here, with the platform's own reason when not. */
export async function keyringCheck(ctx: Context, snapshot: ConfigSnapshot | undefined): Promise<Check> {
  const { probeKeyring } = await import("../config/keyring.ts");
  const inUse = snapshot?.data.credential_store === "keyring";
  try {
    await probeKeyring(ctx.keyring());
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    if (inUse) return fail("keyring", `the credential file keeps its tokens there, but ${error.message.replace(/^the /, "the ")}`, error.hint);
    return ok("keyring", `not available here (${error.message.replace(/^the OS keyring cannot be used: /, "")}); tokens stay in the credential file`);
  }
  return ok(
    "keyring",
    inUse ? "in use: the tokens are in the OS keyring, the file holds no secret" : "available; not in use (opt in: pipeops auth login --keyring)",
  );
}
