/**
 * Obtain tokens from the local servers through their own flows, over plain HTTP: a small "browser"
 * (cookie jar, manual redirects, forms submitted as happy-dom reads them) plays the user, so tests
 * never mint tokens behind the server's back. Where a real browser matters, test/flows/browser-login.test.ts
 * drives Chromium.
 */
import { Window } from "happy-dom";
import * as oauth from "oauth4webapi";
import { DEV_CLIENT_ID } from "../../scripts/dev-server.ts";

const CLIENT_ID = DEV_CLIENT_ID;

// ---------------------------------------------------------------------------
// A minimal browser: enough to drive the dev server's plain-HTML pages.

interface Page {
  url: URL;
  status: number;
  html: string;
}

/** Where a navigation stopped: on a page of the server, or at a redirect leaving it. */
type Landing = { page: Page } | { leftTo: string };

/** HTML form submission, as a browser makes it (happy-dom parses the page): the form's fields plus the clicked button's name=value. */
function submission(page: Page, buttonId?: string): { action: URL; method: string; body: URLSearchParams } {
  const window = new Window({ url: page.url.href });
  try {
    const document = new window.DOMParser().parseFromString(page.html, "text/html");
    const found = buttonId === undefined ? null : document.getElementById(buttonId);
    if (buttonId !== undefined && !(found instanceof window.HTMLButtonElement)) throw new Error(`no button #${buttonId} on ${page.url}:\n${page.html}`);
    const button = found as InstanceType<typeof window.HTMLButtonElement> | null;
    const form = button ? button.form : document.forms[0];
    if (!form) throw new Error(`no form to submit on ${page.url}:\n${page.html}`);
    const body = new URLSearchParams();
    for (const [name, value] of new window.FormData(form)) if (typeof value === "string") body.append(name, value);
    if (button?.name) body.append(button.name, button.value);
    return {
      action: new URL(form.getAttribute("action") || page.url.href, page.url),
      method: (form.getAttribute("method") ?? "get").toUpperCase(),
      body,
    };
  } finally {
    void window.happyDOM.close();
  }
}

class Browser {
  readonly #cookies = new Map<string, string>();

  /** `fetch` is how this browser reaches the network (a proxy's, behind one). */
  constructor(readonly network: typeof fetch = fetch) {}

  /** Follows redirects within the starting origin; stops at the first redirect elsewhere (e.g. the CLI's loopback redirect_uri). */
  async navigate(start: URL, init: { method?: string; body?: URLSearchParams } = {}): Promise<Landing> {
    let url = start;
    let request = init;
    for (let hops = 0; hops < 20; hops += 1) {
      const response = await this.#fetch(url, request);
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || !location) {
        return { page: { url, status: response.status, html: await response.text() } };
      }
      await response.body?.cancel();
      const next = new URL(location, url);
      if (next.origin !== start.origin) return { leftTo: next.href };
      // 302/303 after a POST become GETs, as in browsers.
      url = next;
      request = {};
    }
    throw new Error(`too many redirects from ${start}`);
  }

  async submit(page: Page, buttonId?: string): Promise<Landing> {
    const form = submission(page, buttonId);
    if (form.method === "POST") return this.navigate(form.action, { method: "POST", body: form.body });
    for (const [key, value] of form.body) form.action.searchParams.set(key, value);
    return this.navigate(form.action);
  }

  async #fetch(url: URL, init: { method?: string; body?: URLSearchParams }): Promise<Response> {
    const headers = new Headers({ accept: "text/html" });
    if (this.#cookies.size) headers.set("cookie", [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    const response = await this.network(url, { method: init.method ?? "GET", body: init.body, headers, redirect: "manual" });
    this.#store(response.headers.getSetCookie());
    return response;
  }

  // Single-origin jar: paths are ignored, which is fine because cookie names are unique per purpose.
  #store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = "", ...attributes] = line.split(";");
      const separator = pair.indexOf("=");
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expired = attributes.some((attr) => /^\s*expires=Thu, 01 Jan 1970/i.test(attr) || /^\s*max-age=0\s*$/i.test(attr));
      if (expired || value === "") this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
}

function expectPage(landing: Landing, what: string): Page {
  if ("leftTo" in landing) throw new Error(`expected ${what}, got redirected to ${landing.leftTo}`);
  return landing.page;
}

function pageHas(page: Page, id: string): boolean {
  return page.html.includes(`id="${id}"`);
}

// ---------------------------------------------------------------------------
// Public helpers.

/**
 * Drives login (and consent) for an authorization URL produced elsewhere (e.g. by the CLI),
 * stopping at the redirect back to the client instead of following it.
 */
export async function completeAuthorization(authorizationUrl: string, opts: { deny?: boolean; fetch?: typeof fetch } = {}): Promise<string> {
  const browser = new Browser(opts.fetch);
  const landing = await browser.navigate(new URL(authorizationUrl));
  if ("leftTo" in landing) return landing.leftTo;
  const login = landing.page;
  if (!pageHas(login, "sign-in")) throw new Error(`expected the login page, got ${login.status} at ${login.url}:\n${login.html}`);

  const after = await browser.submit(login, opts.deny ? "deny" : "sign-in");
  if ("leftTo" in after) return after.leftTo;
  throw new Error(`authorization did not return to the client (${after.page.status} at ${after.page.url}):\n${after.page.html}`);
}

/** Acts like a user who opened verification_uri_complete (RFC 8628 §3.3.1) and clicked confirm, or abort. */
export async function approveDevice(verificationUriComplete: string, opts: { deny?: boolean } = {}): Promise<void> {
  const browser = new Browser();
  // The user_code link answers with an auto-submitting form (carrying the xsrf token); submit it as a browser would.
  const autoSubmit = expectPage(await browser.navigate(new URL(verificationUriComplete)), "the code verification page");
  const confirm = expectPage(await browser.submit(autoSubmit), "the device confirmation page");
  if (!pageHas(confirm, "confirm")) throw new Error(`expected the device confirmation page, got ${confirm.status}:\n${confirm.html}`);

  if (opts.deny) {
    const aborted = expectPage(await browser.submit(confirm, "abort"), "the aborted page");
    if (!pageHas(aborted, "aborted")) throw new Error(`device abort not acknowledged (${aborted.status}):\n${aborted.html}`);
    return;
  }

  const login = expectPage(await browser.submit(confirm, "confirm"), "the login page");
  if (!pageHas(login, "sign-in")) throw new Error(`expected the login page, got ${login.status}:\n${login.html}`);
  const done = expectPage(await browser.submit(login, "sign-in"), "the device success page");
  if (!pageHas(done, "success")) throw new Error(`device approval did not succeed (${done.status}):\n${done.html}`);
}

export interface TokenSet {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
}

/** A random port from the dynamic range: the server must accept any loopback port (RFC 8252 §7.3). */
function randomLoopbackRedirect(): string {
  const port = 49152 + Math.floor(Math.random() * (65535 - 49152));
  return `http://127.0.0.1:${port}/callback`;
}

/**
 * Full authorization code + PKCE (RFC 7636) login as the CLI would do it, with the
 * browser part played over HTTP. `redirectUri` defaults to a random loopback port.
 */
export async function loginWithAuthorizationCode(
  server: { url: string },
  opts: { scope?: string; redirectUri?: string; fetch?: typeof fetch } = {},
): Promise<TokenSet> {
  const issuer = new URL(server.url);
  const http = { [oauth.allowInsecureRequests]: true, ...(opts.fetch ? { [oauth.customFetch]: opts.fetch } : {}) };
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...http, algorithm: "oidc" }));
  const client: oauth.Client = { client_id: CLIENT_ID };
  const redirectUri = opts.redirectUri ?? randomLoopbackRedirect();

  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const authorizationUrl = new URL(as.authorization_endpoint!);
  authorizationUrl.search = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: "code",
    redirect_uri: redirectUri,
    scope: opts.scope ?? "openid email profile offline_access",
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
  }).toString();

  const callback = new URL(await completeAuthorization(authorizationUrl.href, { fetch: opts.fetch }));
  // Checks state and, per RFC 9207, the iss parameter.
  const params = oauth.validateAuthResponse(as, client, callback, state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, codeVerifier, http);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
  if (tokens.expires_in === undefined) throw new Error("token response lacks expires_in");
  return { access_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_in: tokens.expires_in };
}

// ---------------------------------------------------------------------------
// The PipeOps-shaped server (scripts/pipeops-server.ts): the same user, its own sign-in page.

/**
 * A session issued through the PipeOps-shaped server's own flow: its console's sign-in page, then
 * the code exchanged at its token endpoint (with a form, as the SDK sends it).
 */
export async function pipeopsLogin(server: { url: string; consoleUrl: string }, opts: { fetch?: typeof fetch } = {}): Promise<TokenSet> {
  const network = opts.fetch ?? fetch;
  const redirectUri = `http://localhost:${49152 + Math.floor(Math.random() * 10000)}/callback`;
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const signIn = new URL(`${server.consoleUrl}/auth/signin`);
  signIn.search = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: redirectUri,
    scope: "openid profile email",
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    oauth: "true",
  }).toString();
  const back = new URL(await completeAuthorization(signIn.href, { fetch: network }));
  const code = back.searchParams.get("code");
  if (!code) throw new Error(`no code on ${back.href}`);
  const response = await network(`${server.url}/oauth/token`, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, client_id: CLIENT_ID, code_verifier: codeVerifier }),
  });
  const body = (await response.json()) as { access_token?: string; refresh_token?: string; expires_in?: number };
  if (!body.access_token || body.expires_in === undefined) throw new Error(`token exchange failed: ${JSON.stringify(body)}`);
  return { access_token: body.access_token, refresh_token: body.refresh_token, expires_in: body.expires_in };
}
