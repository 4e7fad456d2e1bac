/**
 * `auth doctor`'s server checks, from one request: where the API URL came from, whether it answers,
 * TLS, the proxy on the way (host and port only, never its credentials), the extra CA files, the
 * time it took, and the clock against the server's Date header.
 */
import type { Context } from "../context.ts";
import { CliError } from "../errors.ts";
import { createHttpFetch, loadCertificates } from "../server/http.ts";
import { certificateFiles, proxyFor } from "../server/network.ts";
import { resolveApiUrl } from "../server/url.ts";
import type { Session } from "../session/session.ts";
import { formatDuration } from "../time.ts";
import { type Check, fail, ok, warn } from "./check.ts";

/** Past this, token expiry as judged here and on the server disagree enough to matter. */
const MAX_SKEW_SECONDS = 60;

export async function serverChecks(ctx: Context, session: Session | undefined, storedApiUrl: string | undefined): Promise<Check[]> {
  const checks: Check[] = [];
  let apiUrl: URL;
  try {
    apiUrl = session?.apiUrl ?? resolveApiUrl(ctx, storedApiUrl);
  } catch (error) {
    if (error instanceof CliError) return [fail("server", error.message, error.hint)];
    throw error;
  }
  const from = ctx.env.PIPEOPS_API_URL?.trim() ? "PIPEOPS_API_URL" : storedApiUrl && !session?.variable ? "the file's api_url" : "the default";
  let proxy: string;
  try {
    const chosen = proxyFor(apiUrl, ctx.env);
    proxy = chosen ? `through the proxy ${chosen.url.host} (${chosen.variable})` : "direct, no proxy";
  } catch (error) {
    if (error instanceof CliError) return [fail("server", `${apiUrl.origin} (${from}): ${error.message}`, error.hint)];
    throw error;
  }
  const caFiles = certificateFiles(ctx.env);
  if (caFiles.length > 0) {
    try {
      const loaded = await loadCertificates(ctx.env);
      checks.push(
        ok("extra CA certificates", `${loaded.length} from ${caFiles.join(", ")} (NODE_EXTRA_CA_CERTS / SSL_CERT_FILE), trusted besides the built-in ones`),
      );
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      checks.push(fail("extra CA certificates", error.message, error.hint));
      return checks;
    }
  }
  // One request, one try, within PIPEOPS_HTTP_TIMEOUT: any answer at all means the server is there.
  const started = ctx.now();
  let response: Response;
  try {
    response = await createHttpFetch(ctx, { tries: 1, networkHint: false })(apiUrl, { method: "GET", headers: { accept: "application/json" } });
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    // The network errors' own hint would send the user here: asked without it, this line says what to look at.
    const hint = !error.hint
      ? `Check that ${apiUrl.origin} is the right server (set PIPEOPS_API_URL to change it) and reachable from here: network, VPN, firewall, proxy; PIPEOPS_HTTP_TIMEOUT waits longer`
      : error.hint;
    checks.push(fail("server", `${apiUrl.origin} (${from}), ${proxy}: ${error.message}`, hint));
    checks.push(warn("clock", "not checked: the server did not answer", "Mend the server line above, then run 'pipeops auth doctor' again"));
    return checks;
  }
  const took = ctx.now() - started;
  const tls = apiUrl.protocol === "https:" ? "TLS verified" : "plain http (loopback only)";
  // Any status at all says the server is there: the root of an API may well answer 404.
  await response.body?.cancel();
  checks.push(ok("server", `${apiUrl.origin} (${from}) is reachable (answered in ${took} ms), ${proxy}, ${tls}`));
  checks.push(clockCheck(response.headers.get("date"), started + took / 2));
  return checks;
}

/** The server's clock against ours, at the middle of the request. */
function clockCheck(date: string | null, localMs: number): Check {
  const serverMs = date ? Date.parse(date) : Number.NaN;
  if (!Number.isFinite(serverMs)) return ok("clock", "the server sent no Date header to compare with");
  const skew = Math.round((localMs - serverMs) / 1000);
  const way = skew > 0 ? "ahead of" : "behind";
  // The Date header has whole seconds: a second either way is no skew.
  if (Math.abs(skew) <= 1) return ok("clock", "in step with the server's");
  const detail = `${formatDuration(Math.abs(skew))} ${way} the server's`;
  if (Math.abs(skew) > MAX_SKEW_SECONDS) {
    return warn(
      "clock",
      `${detail}: token expiry is judged by the server's clock, so sessions may look expired or fresh wrongly`,
      "Turn on time sync (timedatectl set-ntp true, or your system's settings)",
    );
  }
  return ok("clock", detail);
}
