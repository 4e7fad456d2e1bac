/**
 * Obtain tokens from the dev authorization server through its own flows, over
 * plain HTTP: a tiny "browser" (cookie jar, manual redirects, form submission)
 * plays the user, so tests never mint tokens behind the server's back.
 */
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

interface Tag {
  name: string;
  attrs: Record<string, string>;
  start: number;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" };

function decodeEntities(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => ENTITIES[name] ?? "");
}

function parseAttributes(source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const match of source.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attrs[match[1]!.toLowerCase()] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? "");
  }
  return attrs;
}

/** Good enough for the server's own markup: forms, inputs and buttons, no nesting tricks. */
function tagsOf(html: string): Tag[] {
  return [...html.matchAll(/<(\/?form|input|button)\b([^>]*)>/gi)].map((match) => ({
    name: match[1]!.toLowerCase(),
    attrs: parseAttributes(match[2] ?? ""),
    start: match.index ?? 0,
  }));
}

interface Form {
  open: Tag;
  end: number;
}

function formsOf(tags: Tag[]): Form[] {
  return tags
    .filter((tag) => tag.name === "form")
    .map((open) => ({ open, end: tags.find((tag) => tag.name === "/form" && tag.start > open.start)?.start ?? Infinity }));
}

/** HTML form submission: the form's named inputs plus the clicked button's name=value. */
function submission(page: Page, buttonId?: string): { action: URL; method: string; body: URLSearchParams } {
  const tags = tagsOf(page.html);
  const forms = formsOf(tags);
  const button = buttonId === undefined ? undefined : tags.find((tag) => tag.name === "button" && tag.attrs.id === buttonId);
  if (buttonId !== undefined && !button) throw new Error(`no button #${buttonId} on ${page.url}:\n${page.html}`);

  const form = button?.attrs.form
    ? forms.find((candidate) => candidate.open.attrs.id === button.attrs.form)
    : button
      ? forms.find((candidate) => candidate.open.start < button.start && button.start < candidate.end)
      : forms[0];
  if (!form) throw new Error(`no form to submit on ${page.url}:\n${page.html}`);

  const body = new URLSearchParams();
  const formId = form.open.attrs.id;
  const belongs = (tag: Tag) => (tag.attrs.form !== undefined ? tag.attrs.form === formId : form.open.start < tag.start && tag.start < form.end);
  for (const input of tags.filter((tag) => tag.name === "input" && belongs(tag))) {
    const type = input.attrs.type ?? "text";
    if (input.attrs.name && type !== "submit" && type !== "button") body.append(input.attrs.name, input.attrs.value ?? "");
  }
  if (button?.attrs.name) body.append(button.attrs.name, button.attrs.value ?? "");

  return {
    action: new URL(form.open.attrs.action || page.url.href, page.url),
    method: (form.open.attrs.method ?? "get").toUpperCase(),
    body,
  };
}

class Browser {
  readonly #cookies = new Map<string, string>();

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
    const response = await fetch(url, { method: init.method ?? "GET", body: init.body, headers, redirect: "manual" });
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
export async function completeAuthorization(authorizationUrl: string, opts: { deny?: boolean } = {}): Promise<string> {
  const browser = new Browser();
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
export async function loginWithAuthorizationCode(server: { url: string }, opts: { scope?: string; redirectUri?: string } = {}): Promise<TokenSet> {
  const issuer = new URL(server.url);
  const http = { [oauth.allowInsecureRequests]: true };
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

  const callback = new URL(await completeAuthorization(authorizationUrl.href));
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
export async function pipeopsLogin(server: { url: string; consoleUrl: string }): Promise<TokenSet> {
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
  const back = new URL(await completeAuthorization(signIn.href));
  const code = back.searchParams.get("code");
  if (!code) throw new Error(`no code on ${back.href}`);
  const response = await fetch(`${server.url}/oauth/token`, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, client_id: CLIENT_ID, code_verifier: codeVerifier }),
  });
  const body = (await response.json()) as { access_token?: string; refresh_token?: string; expires_in?: number };
  if (!body.access_token || body.expires_in === undefined) throw new Error(`token exchange failed: ${JSON.stringify(body)}`);
  return { access_token: body.access_token, refresh_token: body.refresh_token, expires_in: body.expires_in };
}
