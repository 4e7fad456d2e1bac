/**
 * The PipeOps-shaped local server answers as the official clients' source says production does
 * (see the sources named in scripts/pipeops-server.ts); the CLI's tests rely on it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as oauth from "oauth4webapi";
import { PIPEOPS_CLIENT_ID, type PipeOpsServer, startPipeOpsServer } from "../../../scripts/pipeops-server.ts";
import { completeAuthorization, pipeopsLogin } from "../../helpers/flows.ts";

let server: PipeOpsServer;
beforeAll(async () => {
  server = await startPipeOpsServer();
});
afterAll(() => server?.close());

async function signInUrl(params: Record<string, string> = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(`${server.consoleUrl}/auth/signin`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: PIPEOPS_CLIENT_ID,
    redirect_uri: "http://localhost:8080/callback",
    scope: "openid profile email",
    state: "c3RhdGU=",
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    oauth: "true",
    ...params,
  }).toString();
  return { url: url.href, verifier };
}

describe("the PipeOps-shaped server", () => {
  test("publishes no discovery documents, device or revocation endpoint", async () => {
    for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/oauth/device/code", "/oauth/revoke"]) {
      const response = await fetch(`${server.url}${path}`, { method: path.includes("well-known") ? "GET" : "POST" });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ status: "error", message: "route not found" });
    }
  });

  test("the sign-in page refuses another client id or redirect, without redirecting", async () => {
    const refused: Record<string, string>[] = [{ client_id: "pipeops-cli" }, { redirect_uri: "http://127.0.0.1:8080/callback" }, { oauth: "false" }];
    for (const params of refused) {
      const response = await fetch((await signInUrl(params)).url, { redirect: "manual" });
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
    }
  });

  test("signs in, returns the state without its padding, and exchanges the code sent as JSON or as a form", async () => {
    for (const encoding of ["json", "form"] as const) {
      const { url, verifier } = await signInUrl();
      const back = new URL(await completeAuthorization(url));
      expect(back.searchParams.get("state")).toBe("c3RhdGU");
      const fields = {
        grant_type: "authorization_code",
        code: back.searchParams.get("code")!,
        redirect_uri: "http://localhost:8080/callback",
        client_id: PIPEOPS_CLIENT_ID,
        code_verifier: verifier,
      };
      const response = await fetch(`${server.url}/oauth/token`, {
        method: "POST",
        ...(encoding === "json" ? { body: JSON.stringify(fields), headers: { "content-type": "application/json" } } : { body: new URLSearchParams(fields) }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        token_type: "Bearer",
        expires_in: 3600,
        access_token: expect.stringMatching(/^pat_/),
        refresh_token: expect.stringMatching(/^prt_/),
      });
    }
  });

  test("a code once, with its verifier; errors as {status, message}", async () => {
    const { url } = await signInUrl();
    const code = new URL(await completeAuthorization(url)).searchParams.get("code")!;
    const exchange = (verifier: string) =>
      fetch(`${server.url}/oauth/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: "http://localhost:8080/callback",
          client_id: PIPEOPS_CLIENT_ID,
          code_verifier: verifier,
        }),
      });
    const wrong = await exchange("wrong-verifier-wrong-verifier-wrong-verifier");
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ status: "error", message: "PKCE verification failed" });
    const again = await exchange("anything");
    expect(await again.json()).toEqual({ status: "error", message: "invalid or expired authorization code" });
  });

  test("userinfo in the envelope, the profile with a numeric id, and a refresh that omits refresh_token", async () => {
    const tokens = await pipeopsLogin(server);
    const auth = { authorization: `Bearer ${tokens.access_token}` };
    const userinfo = await (await fetch(`${server.url}/oauth/userinfo`, { headers: auth })).json();
    expect(userinfo).toMatchObject({ status: "success", data: { sub: server.user.uuid, email: "user@example.com", name: "John Doe" } });
    const profile = await (await fetch(`${server.url}/profile/data`, { headers: auth })).json();
    expect(profile).toMatchObject({ success: true, data: { user: { id: 1234, uuid: server.user.uuid, full_name: "John Doe" } } });
    const refreshed = await fetch(`${server.url}/oauth/token`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh_token!, client_id: PIPEOPS_CLIENT_ID }),
    });
    const body = (await refreshed.json()) as Record<string, unknown>;
    expect(body.access_token).toMatch(/^pat_/);
    expect("refresh_token" in body).toBe(false);
    expect((await fetch(`${server.url}/oauth/userinfo`, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
  });
});
