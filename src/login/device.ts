/**
 * Device login (RFC 8628): show a URL and code, then poll the token endpoint until the user
 * approves on any device, honouring `interval` and `slow_down`, and waiting out a busy server.
 */
import type { Context } from "../context.ts";
import { deviceCodeExpired, isUnreachable, sanitize } from "../errors.ts";
import {
  DEFAULT_INTERVAL_S,
  type DevicePoll,
  deviceAuthorizationRequest,
  deviceTokenRequest,
  MAX_INTERVAL_S,
  nextInterval,
  processDeviceAuthorizationResponse,
  processDeviceTokenResponse,
} from "../oauth/device.ts";
import type { ServerConnection } from "../server/connect.ts";
import type { IssuedTokens } from "../server/dialect.ts";
import type { LoginReporter } from "./progress.ts";
import { abortable } from "./wait.ts";

export interface DeviceLoginOptions {
  conn: ServerConnection;
  scope: string;
  reporter: LoginReporter;
  signal: AbortSignal;
  deadline: number;
}

export async function deviceLogin(ctx: Context, options: DeviceLoginOptions): Promise<IssuedTokens> {
  const { conn, reporter, signal } = options;
  const device = await processDeviceAuthorizationResponse(conn, await abortable(deviceAuthorizationRequest(conn, options.scope), signal));

  if (device.verification_uri_complete) reporter.manualUrl(device.verification_uri_complete);
  else reporter.manualUrl(device.verification_uri, { userCode: sanitize(device.user_code, 64) });
  reporter.waiting(options.deadline);

  const expiresAt = ctx.now() + device.expires_in * 1000;
  let interval = Math.min(Math.max(device.interval ?? DEFAULT_INTERVAL_S, 1), MAX_INTERVAL_S);
  for (;;) {
    await ctx.sleep(interval * 1000, signal);
    if (ctx.now() >= expiresAt) throw deviceCodeExpired();
    let poll: DevicePoll;
    try {
      poll = await processDeviceTokenResponse(conn, await abortable(deviceTokenRequest(conn, device.device_code), signal), ctx.now());
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      // §3.5: a connection timeout is no answer; back off and keep polling.
      if (!isUnreachable(error)) throw error;
      interval = Math.min(interval * 2, MAX_INTERVAL_S);
      continue;
    }
    if (poll.kind === "tokens") return poll.tokens;
    // A busy or failing server: more slowly, until the code expires or --timeout ends the wait
    // (the user may be approving right now).
    if (poll.kind === "busy") interval = Math.min(Math.max(interval * 2, (poll.retryAfterMs ?? 0) / 1000), MAX_INTERVAL_S);
    else interval = nextInterval(interval, poll.kind);
  }
}
