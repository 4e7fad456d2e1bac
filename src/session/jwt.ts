/**
 * When a JWT says it expires. Production issues JWTs (the official CLI asks for `token_format: jwt`,
 * PipeOpsHQ/pipeops-cli internal/auth/oauth.go), so a token from the environment or `--with-token`,
 * which comes with no stored expiry, can still say when it ends. Only the payload's `exp` is read,
 * without any signature check: for showing the expiry and for `auth status --min-remaining`, never
 * to trust the token, which the server still checks on every request.
 */
import * as v from "valibot";
import { builtOnFirstUse } from "../schemas.ts";
import { isServiceAccountToken, type Session } from "./session.ts";

const claimsSchema = builtOnFirstUse(() => v.object({ exp: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(253_402_300_799)) }));

/** A JWT's `exp` as a Date; undefined for anything that is not a JWT with a sane `exp`. */
export function jwtExpiry(token: string): Date | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1]!.length === 0 || parts[1]!.length > 8192) return undefined;
  let payload: unknown;
  try {
    const base64 = parts[1]!.replace(/-/g, "+").replace(/_/g, "/");
    payload = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")), (c) => c.charCodeAt(0))),
    );
  } catch {
    return undefined;
  }
  const claims = v.safeParse(claimsSchema(), payload);
  return claims.success ? new Date(claims.output.exp * 1000) : undefined;
}

/**
 * When the session's access token ends, as far as can be told: its stored expiry, else a JWT's
 * `exp`; never for a service-account token, which does not expire.
 */
export function claimedExpiry(session: Pick<Session, "accessToken" | "expiresAt">): Date | undefined {
  if (isServiceAccountToken(session.accessToken)) return undefined;
  return session.expiresAt ?? jwtExpiry(session.accessToken);
}
