import { formatLocal, formatRfc3339 } from "./config/time.ts";
import type { OutputStream } from "./context.ts";
import { type CliError, LOGIN_HINT, storedSessionLine } from "./errors.ts";
import type { Runtime } from "./runtime/index.ts";
import type { CommandResult, LoginResult, LogoutResult, MeResult, StatusResult } from "./results.ts";

/** The colours pipeops uses, from picocolors' createColors(). */
export type Colors = Pick<ReturnType<typeof import("picocolors").createColors>, "red" | "green" | "yellow" | "cyan" | "bold" | "dim">;

const plain = (text: string | number | null | undefined) => `${text}`;
const PLAIN: Colors = { red: plain, green: plain, yellow: plain, cyan: plain, bold: plain, dim: plain };

/** Set by prepareColors(); undefined until a colour stream needs it. */
let enabledColors: Colors | undefined;

/**
 * Loads picocolors, only when a stream takes colour (a terminal, or FORCE_COLOR): pipes and files
 * never pay for it. The runner awaits this before anything is printed. Loading picocolors works
 * out a default it would use without an argument: unless FORCE_COLOR is set, by reading
 * process.stdout, which makes Bun build its Node stdout stream (about 20 ms, at every start on a
 * terminal). We never use that default, so FORCE_COLOR is set while it loads.
 */
export async function prepareColors(ctx: Streams & { runtime: Pick<Runtime, "withEnvVariable"> }): Promise<void> {
  if (!ctx.stdout.color && !ctx.stderr.color) return;
  enabledColors ??= (await ctx.runtime.withEnvVariable("FORCE_COLOR", "1", () => import("picocolors"))).default.createColors(true);
}

/** The stream's colours: plain text unless it takes colour and prepareColors() has run. */
export function colors(stream: OutputStream): Colors {
  return stream.color && enabledColors ? enabledColors : PLAIN;
}

export const SYMBOL_OK = "✓";
export const SYMBOL_FAIL = "✗";

export interface Streams {
  stdout: OutputStream;
  stderr: OutputStream;
}

type Renderer<K extends CommandResult["kind"]> = (streams: Streams, result: Extract<CommandResult, { kind: K }>) => void;

/**
 * The human text of each kind of result, one small function each: a command's start-up compiles
 * only the one it prints.
 */
const HUMAN: { [K in CommandResult["kind"]]: Renderer<K> } = {
  help: ({ stdout }, result) => stdout.write(result.text),
  status: renderStatus,
  me: ({ stdout }, result) => stdout.write(formatMe(result)),
  token: ({ stdout }, result) => stdout.write(`${result.token}\n`),
  login: renderLogin,
  logout: renderLogout,
};

/** Renders a command's result: human text, or exactly one JSON document with --json. */
export function render(streams: Streams, result: CommandResult, json: boolean): void {
  const document = json ? toJson(result) : undefined;
  if (document !== undefined) {
    streams.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    return;
  }
  (HUMAN[result.kind] as Renderer<CommandResult["kind"]>)(streams, result);
}

function renderLogin({ stdout, stderr }: Streams, result: LoginResult): void {
  stdout.write(`${colors(stdout).green(SYMBOL_OK)} Successfully authenticated as ${result.email}\n`);
  if (result.envTokenOverrides) {
    printWarning(stderr, "PIPEOPS_AUTH_TOKEN is set and takes precedence over the credentials just stored", "Run 'unset PIPEOPS_AUTH_TOKEN' to use them");
  }
}

function renderLogout({ stdout, stderr }: Streams, result: LogoutResult): void {
  const c = colors(stdout);
  if (result.revocation?.revoked) stdout.write(`${c.green(SYMBOL_OK)} Revoked the tokens at the server\n`);
  else if (result.revocation) printWarning(stderr, result.revocation.problem.message, result.revocation.problem.hint);
  if (result.outcome === "logged_out") stdout.write(`${c.green(SYMBOL_OK)} Successfully logged out\n`);
  else if (result.outcome === "not_logged_in") stdout.write("Not logged in: there are no stored credentials to remove\n");
  else stderr.write("Logout cancelled\n");
  if (result.envTokenStillSet && result.outcome !== "cancelled") {
    printWarning(stderr, "PIPEOPS_AUTH_TOKEN is set and still authenticates until you unset it", "Run 'unset PIPEOPS_AUTH_TOKEN'");
  }
}

function renderStatus(streams: Streams, result: StatusResult): void {
  const c = colors(streams.stdout);
  if (!result.authenticated) {
    streams.stdout.write(`${c.red(SYMBOL_FAIL)} Not authenticated\n${LOGIN_HINT}\n${result.storedFor ? `${storedSessionLine(result.storedFor)}\n` : ""}`);
    return;
  }
  if (result.problem) {
    printError(streams.stderr, result.problem);
    return;
  }
  let text = `${c.green(SYMBOL_OK)} Authenticated as ${result.email ?? "unknown user"}\n`;
  if (result.expiresAt) text += `Token expires: ${formatLocal(result.expiresAt)}\n`;
  streams.stdout.write(text);
}

const ME_FIELDS = [
  ["Email", "email"],
  ["Name", "name"],
  ["Organization", "organization"],
  ["Role", "role"],
  ["Account ID", "id"],
] as const;

function formatMe({ user }: MeResult): string {
  const width = Math.max(...ME_FIELDS.map(([label]) => label.length)) + 2;
  let text = "";
  for (const [label, key] of ME_FIELDS) {
    const raw = user[key];
    if (!raw) continue;
    const value = key === "role" ? capitalize(raw) : raw;
    text += `${`${label}:`.padEnd(width)}${value}\n`;
  }
  return text;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The JSON document of a result, with the spec's keys and order; undefined when it has none. */
export function toJson(result: CommandResult): unknown {
  switch (result.kind) {
    case "status":
      if (!result.authenticated) return { authenticated: false, email: null, expires_at: null, token_valid: false };
      return {
        authenticated: true,
        email: result.email,
        expires_at: result.expiresAt ? formatRfc3339(result.expiresAt) : null,
        token_valid: result.problem === null,
        ...(result.problem ? { error: result.problem.message } : {}),
      };
    case "me": {
      const { user } = result;
      return {
        id: user.id,
        email: user.email ?? null,
        name: user.name ?? null,
        organization: user.organization ?? null,
        role: user.role ?? null,
        created_at: user.created_at ?? null,
      };
    }
    default:
      return undefined;
  }
}

/** `Error: <message>` and the hint line: the only way errors reach the user. */
export function printError(stderr: OutputStream, error: CliError): void {
  const c = colors(stderr);
  stderr.write(`${c.red("Error:")} ${error.message}\n${error.hint ? `${error.hint}\n` : ""}`);
}

export function printWarning(stderr: OutputStream, message: string, hint?: string): void {
  const c = colors(stderr);
  stderr.write(`${c.yellow("Warning:")} ${message}\n${hint ? `${hint}\n` : ""}`);
}
