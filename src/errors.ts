/**
 * Every error a user can see: a factory for each message, with its hint. The type, its codes, exit
 * codes and the spec's own messages (not authenticated, expired or invalid token, usage, a bad
 * server URL) are in src/cli-error.ts, re-exported here: every command may need those, so they
 * are all that start-up loads. Where code must tell two errors apart it reads `code` or `reason`,
 * never the message.
 */
import { CliError, RELOGIN_HINT, RETRY_HINT, sanitize, usageError } from "./cli-error.ts";

export * from "./cli-error.ts";

/** Where the user names the credential file: --config when they typed it, else the variable (which also names the default). */
export type PathSetting = "--config" | "PIPEOPS_CONFIG_PATH";

/**
 * A credential file that cannot be written: for permission, the spec's message, then the path and
 * why; for anything else, the path and why in one line. Then the ways out.
 */
export function cannotSave(path: string, problem: { reason: string; denied: boolean }, waysOut: string, cause?: unknown): CliError {
  if (!problem.denied) return new CliError("config_write", `failed to write config file ${path}: ${problem.reason}`, waysOut, { cause });
  return new CliError("config_write", "failed to write config file: permission denied", `${path} cannot be written: ${problem.reason}\n${waysOut}`, {
    cause,
  });
}

/** What a login can do instead, when its credential file cannot be written. */
export const loginSaveWaysOut = (named: PathSetting) =>
  `Name a writable file with ${named === "--config" ? "--config FILE" : "--config FILE or PIPEOPS_CONFIG_PATH"}; in CI, set PIPEOPS_AUTH_TOKEN instead of logging in`;

/** What to do about a credential file a command could not write (a logout, a login's last step). */
export const writeWaysOut = (named: PathSetting) =>
  `Make that place writable, or name another file with ${named === "--config" ? "--config FILE" : "--config FILE or PIPEOPS_CONFIG_PATH"}`;

/** A refresh that was not made because its result could not be stored: the session is as it was. */
export const REFRESH_SAVE_WAYS_OUT =
  "The session was not renewed and is kept as it was: make the place writable and run the command again, or set PIPEOPS_AUTH_TOKEN";

/**
 * HTTP 419: the server ended the session though the token has not expired (PipeOps production's
 * answer for an ended or revoked session: PipeOpsHQ/pipeops-cli utils/output.go, HandleAuthError).
 * Worth one refresh; after that, the spec's expired-token error.
 */
export const sessionEnded = () => new CliError("token_expired", "authentication token has expired", RELOGIN_HINT, { reason: "session_ended" });

/** A debugger the runtime opened before pipeops ran: no credential is read while anyone may attach to it. */
export const debuggerOpen = (variable: string) =>
  new CliError("usage", `${variable} is set: the runtime opened a debugger that could read your tokens`, `Unset ${variable} to run pipeops`);

const TRANSIENT_HINT = "Your session was kept; check your connection and try again";

/** A refresh that failed for now (network, 5xx, 429): the stored session stays. */
export const refreshFailed = (reason: string, cause?: unknown) =>
  new CliError(cause instanceof CliError ? cause.code : "server", `could not refresh the access token: ${reason}`, TRANSIENT_HINT, { cause });

// Logging in.

/** PIPEOPS_SCOPES with a scope RFC 6749 §3.3 does not allow (shown with anything unprintable as ?), or none. */
export const badScopes = (bad: string | undefined, example: string) =>
  usageError(`PIPEOPS_SCOPES contains an invalid scope${bad ? ` '${bad.replace(/[^\x20-\x7e]/g, "?")}'` : ""}`, `Unset it or set it to e.g. '${example}'`);
export const configFlagWithoutFile = () => usageError("flag --config needs a value: --config <file>");

const LOGIN_USAGE = "Run 'pipeops auth login --help' for usage";
export const badLoginTimeout = (raw: string) => usageError(`--timeout must be a positive number of seconds, got '${sanitize(raw, 20)}'`, LOGIN_USAGE);
export const loginTimeoutTooLong = (maxSeconds: number) => usageError(`--timeout must be at most ${maxSeconds} seconds (a day)`, LOGIN_USAGE);
/** `completion tcsh`: the shell named when it is a plain word; else (none, or two) what it takes. */
export const unknownShell = (shells: readonly string[], typed?: string) =>
  usageError(
    typed !== undefined && /^[a-z0-9-]{1,20}$/i.test(typed)
      ? `unknown shell '${typed}': completion supports ${shells.join(", ")}`
      : `completion takes one shell: ${shells.join(", ")}`,
    "Run 'pipeops completion --help' for usage",
  );

/** A token handed to login (stdin or --token) that is malformed, or that the server refused: the hint is about that token. */
export const givenTokenRefused = (how: "--with-token" | "--token") =>
  new CliError(
    "invalid_token",
    "invalid authentication token",
    `The token given with ${how} was not accepted (mistyped, expired, revoked, or for another server): check it, or run 'pipeops auth login' to sign in`,
  );
export const emptyTokenFlag = () =>
  usageError("--token needs a token, got an empty value", "Pipe the token in instead: pipeops auth login --with-token < token.txt");

export const tokenInputTooLong = () =>
  usageError("the token on standard input is too long", "Pipe in only the token: pipeops auth login --with-token < token.txt");
export const noTokenInput = () => usageError("no token on standard input", "Pipe the token in: pipeops auth login --with-token < token.txt");

/** What to use where nobody can sign in in a browser: a token. */
const UNATTENDED_HINT = "In CI, set PIPEOPS_AUTH_TOKEN (or PIPEOPS_TOKEN), or pipe a token in: pipeops auth login --with-token < token.txt";

/** `unattended`: nobody was there to sign in (CI, no terminal), so the hint names the ways that need nobody. */
/** The one-shot start address of a sign-in (WSL, Windows) was asked for twice: another local user may have it. */
export const startAskedTwice = () =>
  new CliError(
    "auth_denied",
    "the sign-in was stopped: its start address was asked for twice, so someone else on this machine may have it",
    "Run 'pipeops auth login' again; if this happens again, another user of this machine is watching for sign-ins: use --no-browser, or PIPEOPS_AUTH_TOKEN",
  );

/** A warning's message and hint: a credential file others can write names the server of a login, and is not believed. */
export const untrustedServerFile = (path: string, loose: "the file" | "its folder"): [string, string] => [
  `the server and console named in ${path} are not used: other users can write ${loose}`,
  `Set PIPEOPS_API_URL to choose the server, and make ${loose === "the file" ? `the file yours alone (chmod 600 ${path})` : "its folder yours alone (chmod go-w)"}`,
];

export const authTimedOut = ({ unattended }: { unattended: boolean }) =>
  new CliError("auth_timeout", "authentication timed out", unattended ? UNATTENDED_HINT : RETRY_HINT);

/** A bare login where nobody could finish a sign-in: ended at once rather than after the time limit. */
export const nobodyToSignIn = (why: string) =>
  new CliError("not_authenticated", `cannot sign in here: ${why}, so nobody can complete a sign-in`, UNATTENDED_HINT);
export const loginInterrupted = () => new CliError("interrupted", "authentication cancelled");
export const deviceCodeExpired = () => new CliError("auth_timeout", "the login code expired before authentication completed", RETRY_HINT);

/** The user said no at the server (RFC 6749 §4.1.2.1 access_denied). */
export const authDenied = () => new CliError("auth_denied", "authentication was denied", RETRY_HINT, { reason: "access_denied" });

/** Any other error on the authorization response; `error` and `description` are the server's, sanitised here. */
export function authFailed(error: string, description: string | null | undefined): CliError {
  if (error === "access_denied") return authDenied();
  const detail = description ? `: ${sanitize(description, 200)}` : "";
  return new CliError("auth_denied", `authentication failed (${sanitize(error, 60)}${detail})`, RETRY_HINT);
}

/** "PipeOps refused the sign-in: invalid or expired authorization code" */
export const signInRefused = (name: string, message: string, cause?: unknown) =>
  new CliError("auth_denied", `${name} refused the sign-in: ${message}`, RETRY_HINT, { cause });

export const stateMismatch = (server: string) =>
  new CliError("server", `the authorization response from ${server} is for another sign-in (state mismatch)`, RETRY_HINT);
export const issuerMismatch = (server: string, cause?: unknown) =>
  new CliError("server_changed", `the authorization response did not come from ${server} (issuer mismatch)`, RETRY_HINT, { cause });
export const noCode = (server: string) => new CliError("server", `the authorization response from ${server} carries no code`, RETRY_HINT);
export const noAuthorizationEndpoint = (server: string) => new CliError("server", `${server} does not advertise an authorization endpoint`);
export const noPkce = (server: string) => new CliError("server", `${server} does not support PKCE with S256, which the CLI requires`);
export const noRevocation = (server: string) => new CliError("server", `${server} does not support token revocation`);

/**
 * The official callback ports (8080, 8085–8089) are all taken, so the PipeOps sign-in is given
 * another one, as the official CLI does (PipeOpsHQ/pipeops-cli internal/auth/oauth.go,
 * findAvailablePort): said by doctor, and by login before the browser opens. `port`: the one used.
 */
export const portsTakenLine = (port?: number) =>
  `localhost:8080 and 8085-8089 are all taken: the sign-in calls back on ${port === undefined ? "another port" : `localhost:${port}`} instead, which the PipeOps sign-in page may refuse`;
export const PORTS_TAKEN_HINT = "If the sign-in does not come back, free one of them, or run 'pipeops auth login --no-browser' and paste the address back";

export const logoutUnconfirmed = () =>
  usageError("logout needs confirmation, but standard input ended without an answer", "Run 'pipeops auth logout --force' to log out without the prompt");

const REVOKE_HINT = "The tokens stay valid until they expire; to revoke them now, use the web console: Settings > Security > Authorized Applications";

/** logout --revoke: a warning, since the local logout happens anyway. */
export const revokeFailed = (cause: unknown) =>
  new CliError("server", `could not revoke the tokens at the server: ${cause instanceof CliError ? cause.message : "unexpected error"}`, REVOKE_HINT, {
    cause,
  });

// What a server answered.

/** `key`: the first field that was wrong (never valibot's message: that quotes the server's text, escapes included). */
export const invalidBody = (server: string, what: string, key?: string | null) =>
  new CliError("server", `${server} sent an invalid ${what}${key ? ` (${key})` : ""}`);

/** A failed HTTP answer as one line: busy, down, missing, or what the server said. */
export function statusError(server: string, status: number | undefined, detail: string, cause?: unknown): CliError {
  if (status === 429) return new CliError("server", `${server} is rate limiting requests (HTTP 429)`, "Wait a minute and try again", { cause });
  if (status !== undefined && status >= 500) return new CliError("server", `${server} is unavailable (HTTP ${status})`, "Try again later", { cause });
  // An endpoint that is not there (any more): what was learned of the server may be out of date.
  if (status === 404) return new CliError("server_changed", `${server} has no such endpoint (HTTP 404)`, undefined, { cause });
  const code = status === undefined ? "" : ` (HTTP ${status})`;
  return new CliError("server", `${server} sent an unexpected response${code}: ${detail}`, undefined, { cause });
}

/** An RFC 6749 §5.2 error body: `error` and a description, both the server's. */
export function requestRejected(server: string, error: string, description: unknown, cause?: unknown): CliError {
  // error_description is whatever the server sent: only a string is shown.
  const detail = typeof description === "string" && description ? `: ${sanitize(description)}` : "";
  return new CliError("server", `${server} rejected the request (${sanitize(error, 60)}${detail})`, undefined, { cause });
}

export const requestRefused = (server: string, status: number, cause?: unknown) =>
  new CliError("server", `${server} refused the request (HTTP ${status})`, undefined, { cause });
export const unsupportedResponse = (server: string, what: string, cause?: unknown) =>
  new CliError("server", `${server} sent a response the CLI does not support (${sanitize(what, 80)})`, undefined, { cause });
export const otherIssuer = (server: string, cause?: unknown) =>
  new CliError("server_changed", `${server} sent a response from another issuer than the one it published`, undefined, { cause });
export const unexpectedFailure = (server: string, cause?: unknown) => new CliError("server", `unexpected failure talking to ${server}`, undefined, { cause });

/** Discovery named an endpoint on another origin than the API's: no token goes there. */
export const endpointElsewhere = (server: string, key: string) =>
  new CliError("server", `${server} published its ${key} on another origin than its own; the CLI sends nothing there`);

/** A warning's message and hint: the cache put an endpoint elsewhere, and was not believed. */
export const cachedElsewhere = (server: string, key: string, cachePath: string): [string, string] => [
  `ignored what was cached about ${server}: its ${key} is on another origin`,
  `If you did not edit ${cachePath}, something else did: remove it and check who can write there`,
];

/** A warning: what was cached was out of date (an endpoint moved), and was learned again. */
export const cacheOutOfDate = (server: string, cause: CliError) => `what was cached about ${server} was out of date (${cause.message}); it was learned again`;

// Reaching a server: `origin` is the URL's origin, `reason` one of the network module's words for what failed.

export const timedOut = (origin: string, seconds: number, cause?: unknown) =>
  new CliError("timeout", `${origin} did not respond within ${seconds} s`, undefined, { cause });
export const unreachable = (origin: string, reason: string, cause?: unknown) =>
  new CliError("network", `could not reach ${origin}: ${reason}`, undefined, { cause });

/** The way out of a server that cannot be reached: which URL and where it came from, the time limit, and the doctor. */
export const withNetworkHint = (error: CliError, origin: string, from: string, seconds: number) =>
  new CliError(
    error.code,
    error.message,
    `Check that ${origin} (${from}) is the right server and reachable from here; PIPEOPS_HTTP_TIMEOUT waits longer (now ${seconds} s); 'pipeops auth doctor' checks the connection`,
    { cause: error.cause },
  );
export const responseTooLarge = (origin: string) => new CliError("server", `the response from ${origin} is too large (over 1 MiB)`);

const HTTP_TIMEOUT_HINT = "Unset it or set it to e.g. 30";
export const badHttpTimeout = (raw: string) =>
  usageError(`PIPEOPS_HTTP_TIMEOUT must be a positive number of seconds, got '${sanitize(raw, 20)}'`, HTTP_TIMEOUT_HINT);
export const httpTimeoutTooLong = (maxSeconds: number) => usageError(`PIPEOPS_HTTP_TIMEOUT must be at most ${maxSeconds} seconds`, HTTP_TIMEOUT_HINT);

export const TLS_HINT = "If your network inspects TLS, point NODE_EXTRA_CA_CERTS at your company's CA certificate";

/** `reason`: why the certificate is not trusted ("it has expired"). */
export const untrustedCertificate = (hostname: string, reason: string, cause?: unknown) =>
  new CliError("network", `could not verify the TLS certificate of ${hostname}: ${reason}`, TLS_HINT, { cause });
export const unreadableCertificates = (file: string) =>
  usageError(`cannot read the certificates in ${sanitize(file, 200)}`, "Point NODE_EXTRA_CA_CERTS (or SSL_CERT_FILE) at a PEM file of CA certificates");
export const noPemCertificate = (file: string) =>
  usageError(`${sanitize(file, 200)} holds no PEM certificate`, "Point NODE_EXTRA_CA_CERTS at a PEM file of CA certificates");

// Proxies: `proxy` is its scheme and host (never its credentials), `variable` the one that named it.

export const badProxyUrl = (variable: string) => usageError(`${variable} is not an http(s) proxy URL`, "Set it to e.g. http://proxy.example.com:3128");
export const proxyUnreachable = (proxy: string, variable: string, reason: string, cause?: unknown) =>
  new CliError("network", `could not reach the proxy ${proxy}: ${reason}`, `Check ${variable}`, { cause });
/** A 407: `example` shows where the user and password go, with placeholders. */
export const proxyAuthRequired = (proxy: string, variable: string, example: string, cause?: unknown) =>
  new CliError("network", `the proxy ${proxy} asks for a user and password (HTTP 407)`, `Give them in ${variable}, e.g. ${example}`, { cause });
export const proxyRefused = (proxy: string, variable: string, target: URL, status: number | undefined, cause?: unknown) =>
  new CliError(
    "network",
    `the proxy ${proxy} refused the connection to ${target.host}${status === undefined ? "" : ` (HTTP ${status})`}`,
    `Check ${variable}, or name ${target.hostname} in NO_PROXY`,
    { cause },
  );

// The credential file and its lock.

/** "point PIPEOPS_CONFIG_PATH at a file", or for a path typed after --config, "give --config a file". */
const pointAtFile = (named: PathSetting) => (named === "--config" ? "give --config a file" : "point PIPEOPS_CONFIG_PATH at a file");
const upperFirst = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const pathHint = (named: PathSetting) => `${upperFirst(pointAtFile(named))}, e.g. ~/.pipeops.json`;

/** Nothing overwrites a file pipeops cannot read: the user moves it aside (keeping what it holds) or mends it. */
export const configInvalid = (path: string, reason: string) =>
  new CliError(
    "config_invalid",
    `config file ${path} is not valid: ${reason}`,
    `Fix it by hand, or move it aside (mv '${path}' '${path}.broken') and run 'pipeops auth login'`,
  );

/** A folder, a named pipe, a device at the config path: the hint fits what it is, and names what the user set. */
export function configNotAFile(path: string, kind: string, named: PathSetting): CliError {
  const message = `config file ${path} is a ${kind}, not a file`;
  if (kind === "folder") {
    return new CliError("config_invalid", message, `${upperFirst(pointAtFile(named))}, e.g. ${path.endsWith("/") ? path : `${path}/`}.pipeops.json`);
  }
  if (kind === "device") return new CliError("config_invalid", message, pathHint(named));
  return new CliError("config_invalid", message, `Remove it (rm '${path}') or ${pointAtFile(named)}`);
}

/** Why the file could not be read: permission, a path through a file, a link loop, or the system's code. */
export function configUnreadable(path: string, why: "permission" | "not_a_folder" | "link_loop" | string, named: PathSetting): CliError {
  const prefix = `cannot read config file ${path}`;
  if (why === "permission") return new CliError("config_invalid", `${prefix}: permission denied`, `Check its permissions: chmod 600 ${path}`);
  if (why === "not_a_folder") return new CliError("config_invalid", `${prefix}: a part of the path is a file, not a folder`, pathHint(named));
  if (why === "link_loop") return new CliError("config_invalid", `${prefix}: too many levels of symbolic links`);
  return new CliError("config_invalid", `${prefix}: ${why}`);
}

export const lockFailed = (path: string, detail: string, cause?: unknown) =>
  new CliError("config_write", `cannot create the lock file ${path}: ${detail}`, undefined, { cause });

// `pipeops api`: its inputs, and answers that are not a success.

const API_USAGE = "Run 'pipeops api --help' for usage";
export const MAX_API_INPUT_BYTES = 10 * 1024 * 1024;
export const apiInputTooLarge = (what: string) => usageError(`${what} is too large (over 10 MiB)`, API_USAGE);
export const stdinReadTwice = () => usageError("standard input can be read only once: by --input - or by one @- field", API_USAGE);
export const apiFileUnreadable = (what: string, path: string, reason: string) => usageError(`cannot read ${what} ${sanitize(path, 200)}: ${reason}`, API_USAGE);
export const badMethod = () => usageError("--method takes an HTTP method, e.g. GET, POST, PUT, PATCH, DELETE", API_USAGE);
/** A method nothing would send as typed: a near miss of a standard one gets its name. */
export const unknownMethod = (method: string, nearest: string | undefined) =>
  usageError(
    `unknown HTTP method '${method}'${nearest ? `: did you mean ${nearest}?` : ""}`,
    nearest ? `Run 'pipeops api -X ${nearest} …'` : "Use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS",
  );
export const tooManyRedirects = (origin: string) => new CliError("server", `${origin} redirected more than 5 times`);
export const redirectedElsewhere = (origin: string, to: URL) =>
  new CliError("server", `${origin} redirected to ${to.origin}, which pipeops api does not follow`, "The session's token is sent only to the API's origin");
/** A status of 400 or more: the server's own message (its envelope's `message`) and the status. */
export const apiStatus = (message: string, status: number) => new CliError("server", `${sanitize(message, 200)} (HTTP ${status})`);

/** A duration flag that is not one: `--min-remaining 45` (no unit), `--min-remaining soon`. */
export const badDuration = (flag: string, raw: string, hint: string) =>
  usageError(`${flag} takes a duration such as 90s, 45m, 2h or 1d, got '${sanitize(raw, 20)}'`, hint);

// The OS keyring (src/config/keyring.ts): failures are closed, and say the two ways out.

/** A warning's message and hint: a logout whose file said keyring, where no entry for the file was found. */
export const keyringEntryMissing = (path: string): [string, string] => [
  `${path} said its tokens were in the OS keyring, but no entry for it was found there; the file no longer says so`,
  "If an entry for it was made under another name, remove it with your keyring's own tool (service 'pipeops')",
];

/** A warning's message and hint: renewed tokens the keyring would not take, kept in the file rather than lost. */
export const keptInFileInstead = (path: string, cause: CliError): [string, string] => [
  `the renewed tokens could not be stored in the OS keyring (${cause.message}); they were written to ${path} (0600) instead`,
  "Run 'pipeops auth login --keyring' once the keyring works, to move them back",
];

const KEYRING_HINT =
  "Start or unlock a keyring (Secret Service, Keychain, Credential Manager), or log in without --keyring (and unset PIPEOPS_CREDENTIAL_STORE)";
export const keyringUnavailable = (reason: string, cause?: unknown) =>
  new CliError("config_write", `the OS keyring cannot be used: ${sanitize(reason, 200)}`, KEYRING_HINT, { cause });
export const keyringFailed = (what: string) => new CliError("config_write", `the OS keyring failed: ${what}`, KEYRING_HINT);
export const badCredentialStore = (raw: string) =>
  usageError(`PIPEOPS_CREDENTIAL_STORE must be "keyring" or "file", got '${sanitize(raw, 20)}'`, "Unset it to keep tokens in the credential file");
export const bodyWithoutRoom = (method: string) =>
  usageError(`a ${method} request carries no body: drop --input, or use -X POST`, "Run 'pipeops api --help' for usage");
