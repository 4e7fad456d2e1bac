import { type Command, type FlagSpec, parseFlags, type Streams } from "../../command.ts";
import { lockPathFor, withLock } from "../../config/lock.ts";
import type { ConfigSnapshot, CredentialStoreKind, ServerSettings } from "../../config/store.ts";
import { assertWritable } from "../../config/writable.ts";
import type { Context, Env } from "../../context.ts";
import {
  badCredentialStore,
  badLoginTimeout,
  CliError,
  emptyTokenFlag,
  givenTokenRefused,
  loginInterrupted,
  loginSaveWaysOut,
  loginTimeoutTooLong,
  nobodyToSignIn,
  noTokenInput,
  tokenInputTooLong,
  untrustedServerFile,
} from "../../errors.ts";
import { readHiddenLine } from "../../io/hidden-line.ts";
import { isCi } from "../../io/progress.ts";
import { authorizationCodeLogin } from "../../login/browser.ts";
import { deviceLogin } from "../../login/device.ts";
import { loginReporter, type QrDrawer, unattended } from "../../login/progress.ts";
import { abortable, startWait } from "../../login/wait.ts";
import { loginScopes } from "../../oauth/scopes.ts";
import { fetchUserInfo } from "../../oauth/userinfo.ts";
import { printWarning, successLine } from "../../output.ts";
import { writableByOthers } from "../../runtime/fs.ts";
import { isBearerToken, MAX_TOKEN_CHARS } from "../../server/bearer.ts";
import { connect, rememberClock } from "../../server/connect.ts";
import type { IssuedTokens } from "../../server/dialect.ts";
import { DEFAULT_API_URL, resolveApiUrl, serverName } from "../../server/url.ts";
import { type EnvTokenVariable, envToken } from "../../session/session.ts";
import { parseSeconds } from "../../time.ts";

export interface LoginResult {
  email: string;
  /** Logged in with --token: its value is in the shell's history and, while it ran, in the process list. */
  tokenOnCommandLine?: boolean;
  /** Set when a token variable is set: it keeps winning over the credentials just stored. */
  envTokenOverrides?: EnvTokenVariable;
}

export interface LoginOptions {
  /** undefined: decide from the environment (SSH, no display). */
  browser: boolean | undefined;
  withToken: boolean;
  /** `--token VALUE`, as the official CLI and its GitHub Action pass it: visible to other users, hence the warning. */
  token?: string;
  timeoutSeconds: number;
  /** A QR code of the URL to open (--qr, or PIPEOPS_QR), at a terminal. */
  qr: boolean;
  /** --keyring: the tokens go into the OS keyring, the file keeps only what is not secret. */
  keyring?: boolean;
}

/** Longest wait we accept: a day. */
export const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;

/** The login flags: --timeout is a number of seconds up to a day; --browser and --no-browser exclude each other. */
export async function parse(argv: readonly string[]): Promise<LoginOptions> {
  const flags = await parseFlags(command, argv);
  let timeoutSeconds = 300;
  if (flags.timeout !== undefined) {
    const raw = flags.timeout;
    const seconds = parseSeconds(raw);
    if (seconds === undefined) throw badLoginTimeout(raw);
    timeoutSeconds = seconds;
    if (timeoutSeconds > MAX_TIMEOUT_SECONDS) throw loginTimeoutTooLong(MAX_TIMEOUT_SECONDS);
  }
  if (flags.token !== undefined && flags.token.trim() === "") throw emptyTokenFlag();
  return {
    browser: flags.browser,
    withToken: flags.withToken ?? false,
    timeoutSeconds,
    qr: flags.qr ?? false,
    ...(flags.token !== undefined ? { token: flags.token } : {}),
    ...(flags.keyring ? { keyring: true } : {}),
  };
}

/**
 * A QR code of a URL, on a terminal only (never on a pipe), when it fits the terminal's height:
 * the device URL always does; the longer authorization URL of the paste flow on tall terminals.
 * PIPEOPS_QR=light inverts it for light themes. uqr is loaded only here.
 */
async function qrDrawer(ctx: Context): Promise<QrDrawer | undefined> {
  if (!ctx.stderr.isTTY) return undefined;
  const { qrLines } = await import("../../login/qr.ts");
  const lightTheme = ctx.env.PIPEOPS_QR?.trim().toLowerCase() === "light";
  return (url) => {
    const lines = qrLines(url, { lightTheme });
    const size = ctx.terminalSize();
    // Room for the lines around it: the URL above, the waiting line below.
    const needs = { columns: lines[0]?.length ?? 0, rows: lines.length + 4 };
    if (!size || (needs.rows <= size.rows && needs.columns <= size.columns)) return { lines };
    return {
      notice: `The QR code needs a terminal ${needs.columns} columns wide and ${needs.rows} rows tall (this one is ${size.columns} x ${size.rows}); open the URL above instead`,
    };
  };
}

/** PIPEOPS_QR set to anything but "", "0" or "false" asks for the QR code, as --qr does. */
function qrFromEnv(env: Env): boolean {
  const value = env.PIPEOPS_QR?.trim().toLowerCase();
  return value !== undefined && value !== "" && value !== "0" && value !== "false";
}

/**
 * Whether to open a browser: the flag when given; else not over SSH; else yes when BROWSER names
 * one or on WSL (the Windows browser); else not on Linux without a display (where xdg-open has
 * nowhere to show a window).
 */
export function shouldOpenBrowser(flag: boolean | undefined, env: Env, platform: string, wsl: boolean): boolean {
  if (flag !== undefined) return flag;
  if (env.SSH_CONNECTION || env.SSH_TTY) return false;
  if (env.BROWSER?.trim() || wsl) return true;
  if (platform === "linux" && !env.DISPLAY && !env.WAYLAND_DISPLAY) return false;
  return true;
}

/**
 * Why a bare `auth login` cannot be finished here, ending it at once instead of after the time
 * limit: CI, or no terminal on stdin and stderr and no browser to open. An explicit --browser or
 * --no-browser still goes ahead (a device code can be approved on a phone); a token needs nobody.
 */
function whyNobodyCanSignIn(ctx: Context, options: LoginOptions): string | undefined {
  if (options.withToken || options.token !== undefined || options.browser !== undefined) return undefined;
  if (isCi(ctx.env)) return "CI is set";
  if (unattended(ctx) && !shouldOpenBrowser(undefined, ctx.env, ctx.platform, ctx.isWsl())) return "there is no terminal and no browser to open";
  return undefined;
}

/** Logs in and stores the new credentials; the old ones are replaced only once the new login succeeded. */
async function run(ctx: Context, options: LoginOptions): Promise<LoginResult> {
  const nobody = whyNobodyCanSignIn(ctx, options);
  if (nobody) throw nobodyToSignIn(nobody);
  const store = ctx.store();
  const kept = await credentialStoreOf(ctx, options);
  // Read first: a broken credential file (or a keyring that cannot be used) is reported before the user goes through a browser.
  const snapshot = await store.read();
  // And where the result goes must take it (the file says where the tokens are, even with the keyring): nothing is sent before.
  await assertWritable(store.path, loginSaveWaysOut(store.named));
  const { apiUrl, settings } = await loginServer(ctx, store.path, snapshot);
  if (options.withToken) return loginWithToken(ctx, apiUrl, settings, { token: await tokenFromStdin(ctx), how: "--with-token" }, kept);
  if (options.token !== undefined) {
    return { ...(await loginWithToken(ctx, apiUrl, settings, { token: options.token.trim(), how: "--token" }, kept)), tokenOnCommandLine: true };
  }

  const conn = await connect(ctx, apiUrl, settings);
  const scope = loginScopes(ctx.env, conn.as.scopes_supported);
  const reporter = loginReporter(ctx, options.qr || qrFromEnv(ctx.env) ? await qrDrawer(ctx) : undefined);
  const wait = startWait(ctx, options.timeoutSeconds);
  try {
    const flow = { conn, scope, reporter, signal: wait.signal, deadline: wait.deadline };
    let tokens: IssuedTokens;
    if (shouldOpenBrowser(options.browser, ctx.env, ctx.platform, ctx.isWsl())) {
      tokens = await authorizationCodeLogin(ctx, { ...flow, openBrowser: true });
    } else if (conn.as.device_authorization_endpoint) {
      tokens = await deviceLogin(ctx, flow);
    } else {
      // No device grant (the PipeOps API): the URL to open anywhere, and the address pasted back.
      tokens = await authorizationCodeLogin(ctx, { ...flow, openBrowser: false });
    }
    // A token handed over on the callback is taken only once userinfo accepts it.
    const user = await abortable(fetchUserInfo(conn, tokens.accessToken), wait.signal);
    // Ctrl-C or the time limit after the last await must still leave the old credentials in place.
    wait.signal.throwIfAborted();
    const credentials = {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      // Expiry is the server's business: kept in server time, as refreshes do.
      expiresAt: conn.clock.expiresAt(tokens.expiresIn, ctx.now()),
      apiUrl: serverName(conn.apiUrl),
      store: kept,
    };
    // Under the lock, so a refresh in another process cannot write the old session back over ours.
    await withLock(ctx, await lockPathFor(store.path), () => store.save(credentials));
    await rememberClock(ctx, conn);
    return loginResult(ctx, user.email ?? user.id);
  } finally {
    reporter.done();
    wait.dispose();
  }
}

/**
 * Where a login goes: PIPEOPS_API_URL, else the server the credential file names (our api_url, or
 * the official CLI's oauth.base_url, which its logout keeps for a self-hosted PipeOps), said on
 * stderr before anything is sent when it is not production, as that file may have been baked into
 * an image or left by another tool. A file other users can write names no server, and no console.
 */
async function loginServer(ctx: Context, path: string, snapshot: ConfigSnapshot): Promise<{ apiUrl: URL; settings?: ServerSettings }> {
  const fromEnv = Boolean(ctx.env.PIPEOPS_API_URL?.trim());
  const namesSomething = (!fromEnv && snapshot.apiUrl !== undefined) || Boolean(snapshot.settings?.consoleUrl || snapshot.settings?.clientId);
  const loose = namesSomething ? await writableByOthers(path) : undefined;
  if (loose) {
    printWarning(ctx.stderr, ...untrustedServerFile(path, loose));
    return { apiUrl: resolveApiUrl(ctx) };
  }
  const apiUrl = resolveApiUrl(ctx, snapshot.apiUrl);
  if (!fromEnv && snapshot.apiUrl !== undefined && serverName(apiUrl) !== DEFAULT_API_URL) {
    const key = snapshot.data.api_url ? "api_url" : "oauth.base_url";
    const home = ctx.homedir;
    const shown = path.startsWith(`${home}/`) ? `~/${path.slice(home.length + 1)}` : path;
    ctx.stderr.write(`Logging in to ${serverName(apiUrl)} (${key} in ${shown})\n`);
  }
  return { apiUrl, settings: snapshot.settings };
}

/** `--with-token`: the token comes from stdin (never argv), is checked against userinfo, then stored. */
async function tokenFromStdin(ctx: Context): Promise<string> {
  // Room for a line ending after the longest token we accept.
  const input = ctx.stdin.isTTY ? await typedToken(ctx) : await ctx.stdin.readAll(MAX_TOKEN_CHARS + 2);
  const token = input.trim();
  if (token.length > MAX_TOKEN_CHARS) throw tokenInputTooLong();
  if (token === "") throw noTokenInput();
  return token;
}

/** A token handed over (stdin or --token): checked with one request to the server, then stored; never shown. */
async function loginWithToken(
  ctx: Context,
  apiUrl: URL,
  settings: ServerSettings | undefined,
  { token, how }: { token: string; how: "--with-token" | "--token" },
  kept: CredentialStoreKind | undefined,
): Promise<LoginResult> {
  if (!isBearerToken(token)) throw givenTokenRefused(how);
  const conn = await connect(ctx, apiUrl, settings);
  let user: Awaited<ReturnType<typeof fetchUserInfo>>;
  try {
    user = await fetchUserInfo(conn, token);
  } catch (error) {
    // Refused: the way out is another token, not the login the spec's hint names.
    if (error instanceof CliError && (error.code === "invalid_token" || error.code === "token_expired")) throw givenTokenRefused(how);
    throw error;
  }
  const store = ctx.store();
  await withLock(ctx, await lockPathFor(store.path), () => store.save({ accessToken: token, apiUrl: serverName(conn.apiUrl), store: kept }));
  return loginResult(ctx, user.email ?? user.id);
}

/**
 * Where the new tokens go: the keyring for --keyring or PIPEOPS_CREDENTIAL_STORE=keyring, the file
 * for PIPEOPS_CREDENTIAL_STORE=file, else where they are now. The keyring is tried before the
 * login starts: one that cannot be used ends it at once, with nothing written anywhere.
 */
async function credentialStoreOf(ctx: Context, options: LoginOptions): Promise<CredentialStoreKind | undefined> {
  const raw = ctx.env.PIPEOPS_CREDENTIAL_STORE?.trim().toLowerCase();
  if (raw && raw !== "keyring" && raw !== "file") throw badCredentialStore(raw);
  const kept = options.keyring ? "keyring" : (raw as CredentialStoreKind | undefined);
  if (kept === "keyring") await (await import("../../config/keyring.ts")).probeKeyring(ctx.keyring());
  return kept;
}

/** The token typed or pasted at the terminal: hidden where the terminal allows it. */
async function typedToken(ctx: Context): Promise<string> {
  const prompt = "Paste your token (it will not be shown), then press Enter:\n";
  const hidden = await readHiddenLine(ctx, { prompt, interrupted: loginInterrupted, maxChars: MAX_TOKEN_CHARS + 1 });
  if (hidden !== null) return hidden;
  ctx.stderr.write("Paste your token, then press Enter:\n");
  return (await ctx.stdin.readLine(MAX_TOKEN_CHARS + 1)) ?? "";
}

function loginResult(ctx: Context, email: string): LoginResult {
  const variable = envToken(ctx.env)?.variable;
  return variable ? { email, envTokenOverrides: variable } : { email };
}

/** As `docker login -p` warns: a token on the command line is not a secret any more. */
const TOKEN_ARGUMENT_WARNING = "a token given with --token can be seen by other users of this machine and stays in your shell history";
const TOKEN_ARGUMENT_HINT = "Use 'pipeops auth login --with-token < token.txt' or set PIPEOPS_AUTH_TOKEN instead";

function render({ stdout, stderr }: Streams, result: LoginResult): void {
  stdout.write(successLine(stdout, `Successfully authenticated as ${result.email}`));
  if (result.tokenOnCommandLine) printWarning(stderr, TOKEN_ARGUMENT_WARNING, TOKEN_ARGUMENT_HINT);
  if (result.envTokenOverrides) {
    const variable = result.envTokenOverrides;
    printWarning(stderr, `${variable} is set and takes precedence over the credentials just stored`, `Run 'unset ${variable}' to use them`);
  }
}

const FLAGS = [
  { name: "--browser", description: "Open browser automatically (default: true)" },
  { name: "--no-browser", description: "Display auth URL without opening browser" },
  { name: "--with-token", description: "Read a token from standard input instead of logging in" },
  {
    name: "--token",
    value: "<token>",
    description: "Log in with this token (others can see it in the process list and your shell history: prefer --with-token)",
  },
  { name: "--timeout", value: "<seconds>", description: "Give up waiting for authentication after this long (default: 300)" },
  { name: "--qr", description: "Also show the URL to open as a QR code, to sign in from a phone (PIPEOPS_QR=1)" },
  {
    name: "--keyring",
    description: "Keep the tokens in the OS keyring, not the file (PIPEOPS_CREDENTIAL_STORE=keyring); fails if there is none",
  },
] as const satisfies readonly FlagSpec[];

export const command: Command<LoginOptions, LoginResult, typeof FLAGS> = {
  name: "auth login",
  summary: "Authenticate with PipeOps using OAuth 2.0 with PKCE",
  flags: FLAGS,
  exclusive: [
    ["--browser", "--no-browser"],
    ["--token", "--with-token"],
    ["--token", "--browser"],
    ["--token", "--no-browser"],
  ],
  examples: [
    "pipeops auth login",
    "pipeops auth login --no-browser",
    "pipeops auth login --with-token < token.txt",
    'pipeops auth login --token "$PIPEOPS_TOKEN"',
    "pipeops auth login --keyring",
  ],
  argumentsHint: "to log in with a token, pipe it in: pipeops auth login --with-token < token.txt",
  parse,
  run,
  render,
};
