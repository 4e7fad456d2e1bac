import { afterAll, beforeAll, describe, expect, test } from "bun:test";

import { DEV_CLIENT_ID, type DevServer, demoUser, startDevServer } from "../../../scripts/dev-server.ts";
import { ROOT } from "../../helpers/binary.ts";
import { approveDevice, completeAuthorization, loginWithAuthorizationCode } from "../../helpers/flows.ts";

// biome-ignore lint/suspicious/noExplicitAny: the tests read the server's JSON as loosely as a client would
type Json = Record<string, any>;

async function post(server: DevServer, path: string, params: Record<string, string>): Promise<{ status: number; body: Json }> {
  const response = await fetch(new URL(path, server.url), { method: "POST", body: new URLSearchParams(params) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

const token = (server: DevServer, params: Record<string, string>) => post(server, "/token", { client_id: DEV_CLIENT_ID, ...params });
const refresh = (server: DevServer, refreshToken: string) => token(server, { grant_type: "refresh_token", refresh_token: refreshToken });
const revoke = (server: DevServer, value: string) => post(server, "/token/revocation", { client_id: DEV_CLIENT_ID, token: value });

async function userinfo(server: DevServer, accessToken: string): Promise<Response> {
  return fetch(new URL("/me", server.url), { headers: { authorization: `Bearer ${accessToken}` } });
}

async function metadata(server: DevServer): Promise<Json> {
  return (await fetch(new URL("/.well-known/openid-configuration", server.url))).json() as Promise<Json>;
}

async function deviceAuthorization(server: DevServer): Promise<Json> {
  const { status, body } = await post(server, "/device/auth", { client_id: DEV_CLIENT_ID, scope: "openid email profile offline_access" });
  expect(status).toBe(200);
  return body;
}

function authorizationUrl(server: DevServer, params: Record<string, string>): string {
  const url = new URL("/auth", server.url);
  url.search = new URLSearchParams({ client_id: DEV_CLIENT_ID, response_type: "code", scope: "openid", state: "st4te", ...params }).toString();
  return url.href;
}

// A fresh server per scenario keeps the stats assertions exact.
function withServer(options: Parameters<typeof startDevServer>[0] = {}): { current: DevServer } {
  const holder = {} as { current: DevServer };
  beforeAll(async () => {
    holder.current = await startDevServer(options);
  });
  afterAll(() => holder.current.close());
  return holder;
}

describe("metadata", () => {
  const server = withServer();

  test("advertises the issuer, device flow, revocation, PKCE S256 and RFC 9207", async () => {
    const meta = await metadata(server.current);
    expect(server.current.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(meta.issuer).toBe(server.current.url);
    expect(meta.device_authorization_endpoint).toBe(`${server.current.url}/device/auth`);
    expect(meta.revocation_endpoint).toBe(`${server.current.url}/token/revocation`);
    expect(meta.userinfo_endpoint).toBe(`${server.current.url}/me`);
    expect(meta.code_challenge_methods_supported).toEqual(["S256"]);
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);
    expect(meta.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]));
  });
});

describe("authorization code + PKCE", () => {
  const server = withServer();

  test("works on two different loopback ports and returns the demo user from userinfo", async () => {
    const first = await loginWithAuthorizationCode(server.current, { redirectUri: "http://127.0.0.1:49200/callback" });
    const second = await loginWithAuthorizationCode(server.current, { redirectUri: "http://127.0.0.1:61999/callback" });
    const third = await loginWithAuthorizationCode(server.current, { redirectUri: "http://localhost:50123/callback" });

    for (const tokens of [first, second, third]) {
      expect(tokens.refresh_token).toBeString();
      expect(tokens.expires_in).toBe(3600);
    }
    const response = await userinfo(server.current, second.access_token);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ...demoUser });
    expect(server.current.stats.authorizationCodeGrants).toBe(3);
    expect(server.current.stats.userinfoRequests).toBe(1);
  });

  test("issues a refresh token even without offline_access", async () => {
    const tokens = await loginWithAuthorizationCode(server.current, { scope: "openid" });
    expect(tokens.refresh_token).toBeString();
  });

  test("redirects back with code, state and iss", async () => {
    const location = new URL(
      await completeAuthorization(
        authorizationUrl(server.current, {
          redirect_uri: "http://127.0.0.1:50500/callback",
          code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
          code_challenge_method: "S256",
        }),
      ),
    );
    expect(location.origin).toBe("http://127.0.0.1:50500");
    expect(location.searchParams.get("code")).toBeString();
    expect(location.searchParams.get("state")).toBe("st4te");
    expect(location.searchParams.get("iss")).toBe(server.current.url);
  });

  test("deny ends with access_denied at the redirect_uri", async () => {
    const location = new URL(
      await completeAuthorization(
        authorizationUrl(server.current, {
          redirect_uri: "http://127.0.0.1:50501/callback",
          code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
          code_challenge_method: "S256",
        }),
        { deny: true },
      ),
    );
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("state")).toBe("st4te");
  });

  test("rejects requests without PKCE", async () => {
    const location = new URL(await completeAuthorization(authorizationUrl(server.current, { redirect_uri: "http://127.0.0.1:50502/callback" })));
    expect(location.searchParams.get("error")).toBe("invalid_request");
  });

  test("rejects non-loopback redirect URIs", async () => {
    const url = authorizationUrl(server.current, {
      redirect_uri: "http://example.com/callback",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
    });
    await expect(completeAuthorization(url)).rejects.toThrow(/redirect_uri/);
  });
});

describe("refresh token rotation and reuse detection", () => {
  const server = withServer();

  test("rotates once, then a replay revokes the whole grant", async () => {
    const initial = await loginWithAuthorizationCode(server.current);

    const rotated = await refresh(server.current, initial.refresh_token!);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).toBeString();
    expect(rotated.body.refresh_token).not.toBe(initial.refresh_token);

    const replay = await refresh(server.current, initial.refresh_token!);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe("invalid_grant");

    // RFC 9700 §4.14.2: the legitimate holder's newest token dies with the grant too.
    const afterReplay = await refresh(server.current, rotated.body.refresh_token);
    expect(afterReplay.status).toBe(400);
    expect(afterReplay.body.error).toBe("invalid_grant");
    expect((await userinfo(server.current, rotated.body.access_token)).status).toBe(401);

    expect(server.current.stats).toMatchObject({ refreshGrants: 1, refreshReuseDetected: 1, authorizationCodeGrants: 1, revocations: 0 });
  });
});

describe("device authorization grant (RFC 8628)", () => {
  const server = withServer();

  test("pending until approved, then tokens", async () => {
    const device = await deviceAuthorization(server.current);
    expect(device.verification_uri_complete).toStartWith(`${server.current.url}/device?user_code=`);
    expect(device.interval).toBe(1);
    expect(device.expires_in).toBe(600);

    const params = { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: device.device_code };
    expect((await token(server.current, params)).body.error).toBe("authorization_pending");

    await approveDevice(device.verification_uri_complete);
    const granted = await token(server.current, params);
    expect(granted.status).toBe(200);
    expect(granted.body.access_token).toBeString();
    expect(granted.body.refresh_token).toBeString();
    expect(server.current.stats.deviceCodeGrants).toBe(1);

    // A device code is single use.
    expect((await token(server.current, params)).body.error).toBe("invalid_grant");
  });

  test("abort on the confirmation page denies the device", async () => {
    const device = await deviceAuthorization(server.current);
    await approveDevice(device.verification_uri_complete, { deny: true });
    const denied = await token(server.current, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: device.device_code });
    expect(denied.status).toBe(400);
    expect(denied.body.error).toBe("access_denied");
    expect(server.current.stats.deviceCodeGrants).toBe(1);
  });
});

describe("revocation (RFC 7009)", () => {
  const server = withServer();

  test("a revoked access token is rejected by userinfo", async () => {
    const tokens = await loginWithAuthorizationCode(server.current);
    expect((await userinfo(server.current, tokens.access_token)).status).toBe(200);

    expect((await revoke(server.current, tokens.access_token)).status).toBe(200);
    const response = await userinfo(server.current, tokens.access_token);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain("invalid_token");
    expect(server.current.stats).toMatchObject({ revocations: 1, userinfoRequests: 1 });
  });

  test("a revoked refresh token can no longer be used", async () => {
    const tokens = await loginWithAuthorizationCode(server.current);
    expect((await revoke(server.current, tokens.refresh_token!)).status).toBe(200);
    expect((await refresh(server.current, tokens.refresh_token!)).body.error).toBe("invalid_grant");
    expect((await userinfo(server.current, tokens.access_token)).status).toBe(401);
    expect(server.current.stats.refreshReuseDetected).toBe(0);
  });
});

describe("options", () => {
  describe("accessTokenTtl", () => {
    const server = withServer({ accessTokenTtl: 90 });

    test("sets expires_in", async () => {
      const tokens = await loginWithAuthorizationCode(server.current);
      expect(tokens.expires_in).toBe(90);
      const refreshed = await refresh(server.current, tokens.refresh_token!);
      expect(refreshed.body.expires_in).toBe(90);
    });
  });

  describe("deviceFlow: false", () => {
    const server = withServer({ deviceFlow: false });

    test("hides and disables the device authorization endpoint", async () => {
      const meta = await metadata(server.current);
      expect(meta.device_authorization_endpoint).toBeUndefined();
      expect(meta.grant_types_supported).not.toContain("urn:ietf:params:oauth:grant-type:device_code");
      const response = await fetch(new URL("/device/auth", server.current.url), {
        method: "POST",
        body: new URLSearchParams({ client_id: DEV_CLIENT_ID }),
      });
      expect(response.status).toBe(404);
      await response.body?.cancel();
    });
  });
});

describe("startup", () => {
  test("parallel starts leave the console untouched", async () => {
    const { warn, info } = console;
    const servers = await Promise.all([startDevServer(), startDevServer(), startDevServer()]);
    await Promise.all(servers.map((server) => server.close()));
    expect(new Set(servers.map((server) => server.port)).size).toBe(3);
    expect(console.warn).toBe(warn);
    expect(console.info).toBe(info);
  });

  test("as a script: prints only the export line on stdout and stops on SIGTERM", async () => {
    const child = Bun.spawn([process.execPath, "scripts/dev-server.ts", "--access-token-ttl", "77"], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    const line = new TextDecoder().decode(value);
    expect(line).toMatch(/^export PIPEOPS_API_URL=http:\/\/127\.0\.0\.1:\d+\n$/);

    const url = line.trim().split("=")[1]!;
    expect((await loginWithAuthorizationCode({ url })).expires_in).toBe(77);

    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    const rest = await reader.read();
    expect(rest.done || new TextDecoder().decode(rest.value) === "").toBe(true);
    expect(await new Response(child.stderr).text()).not.toContain("oidc-provider");
  });
});
