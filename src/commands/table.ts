/** `pipeops auth <name>`: each command is one module, loaded only when it runs (or for help and completions). */
import type { AnyCommand } from "../command.ts";

export const AUTH_COMMANDS = {
  login: () => import("./auth/login.ts"),
  logout: () => import("./auth/logout.ts"),
  status: () => import("./auth/status.ts"),
  me: () => import("./auth/me.ts"),
  token: () => import("./auth/token.ts"),
  doctor: () => import("./auth/doctor.ts"),
} satisfies Record<string, () => Promise<{ command: AnyCommand }>>;

export type AuthName = keyof typeof AUTH_COMMANDS;

/** Other names for `auth me`, as the official CLI has them (PipeOpsHQ/pipeops-cli cmd/). */
export const AUTH_ALIASES: Readonly<Record<string, AuthName>> = { whoami: "me", userinfo: "me" };

/**
 * The official CLI's top-level commands, each the same as `pipeops auth <name>` (PipeOpsHQ/pipeops-cli
 * cmd/login.go, logout.go, status.go, me.go). `token` is not one: there it manages service tokens.
 */
export const SHORTCUTS: Readonly<Record<string, AuthName>> = { login: "login", logout: "logout", status: "status", me: "me", ...AUTH_ALIASES };

/** Every auth command, loaded: for `pipeops auth --help` and the completions. */
export async function authCommands(): Promise<[AuthName, AnyCommand][]> {
  return Promise.all(
    Object.entries(AUTH_COMMANDS).map(async ([name, load]) => [name as AuthName, (await load()).command as AnyCommand] as [AuthName, AnyCommand]),
  );
}
