/**
 * A session's refresh, under the credential file's lock: loaded by src/session/authenticated.ts only
 * when a token is due for one, or was refused (npm run bench, with a session).
 */
import { lockPathFor, withLock } from "../config/lock.ts";
import type { CredentialStoreKind } from "../config/store.ts";
import { assertWritable } from "../config/writable.ts";
import type { Context, CredentialFile } from "../context.ts";
import { CliError, keptInFileInstead, notAuthenticated, REFRESH_SAVE_WAYS_OUT, tokenExpired } from "../errors.ts";
import { type RefreshedTokens, refreshTokens } from "../oauth/refresh.ts";
import { printWarning } from "../output.ts";
import type { ServerConnection } from "../server/connect.ts";
import { FILE_API_URL, parseServerUrl, sameServer, serverName } from "../server/url.ts";
import { isExpired, type Session } from "./session.ts";

/**
 * Refreshes under the credential file's lock. The file is read again once the lock is held: when
 * another process has refreshed meanwhile, its token is used and no second grant is made (a spent
 * refresh token replayed would make the server revoke the whole session). `rejected` is a token the
 * server has refused, which is never taken back from the file, and how it refused it (401 or 419),
 * which is the error when there is no refresh token left to try.
 */
export async function refreshSession(
  ctx: Context,
  conn: ServerConnection,
  session: Session,
  rejected?: { token: string; error: CliError },
): Promise<{ session: Session; granted: boolean }> {
  const store = ctx.store();
  // A refresh spends the refresh token: where its successor cannot be stored, none is made.
  await assertWritable(store.path, REFRESH_SAVE_WAYS_OUT);
  return withLock(ctx, await lockPathFor(store.path), async () => {
    const { credentials, apiUrl } = await store.read();
    if (!credentials) throw notAuthenticated();
    // A login to another server meanwhile: its refresh token must not travel to this one.
    if (apiUrl && !sameServer(parseServerUrl(apiUrl, FILE_API_URL), session.apiUrl)) throw notAuthenticated(serverName(new URL(apiUrl)));
    const stored: Session = { ...credentials, apiUrl: session.apiUrl, settings: session.settings };
    const refreshedElsewhere = stored.accessToken !== session.accessToken && stored.accessToken !== rejected?.token;
    if (refreshedElsewhere && !isExpired(stored, conn.clock.now())) return { session: stored, granted: false };
    if (!stored.refreshToken) throw rejected?.error ?? tokenExpired();

    const tokens = await refreshTokens(conn, stored.refreshToken, () => ctx.now());
    const source = await keepGranted(ctx, store, tokens, credentials.source === "keyring" ? "keyring" : "file");
    const refreshed: Session = { ...tokens, source, apiUrl: session.apiUrl, settings: session.settings };
    return { session: refreshed, granted: true };
  });
}

/**
 * Stores granted tokens where the old ones were (a refresh never moves a session: only a login
 * does). Should the keyring fail now, they go into the file, 0600, with a warning: the refresh
 * token they replace is spent, so dropping them would lose the session.
 */
async function keepGranted(ctx: Context, store: CredentialFile, tokens: RefreshedTokens, where: CredentialStoreKind): Promise<Session["source"]> {
  const update = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresAt: tokens.expiresAt };
  try {
    await store.save({ ...update, store: where });
    return where;
  } catch (error) {
    if (where === "file" || !(error instanceof CliError)) throw error;
    await store.save({ ...update, store: "file" });
    printWarning(ctx.stderr, ...keptInFileInstead(store.path, error));
    return "file";
  }
}
