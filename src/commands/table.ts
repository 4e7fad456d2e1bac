/** `pipeops auth <name>`: each command is one module, loaded only when it runs (or for help and completions). */
import type { AnyCommand } from "../command.ts";

export const AUTH_COMMANDS = {
  login: () => import("./auth/login.ts"),
  logout: () => import("./auth/logout.ts"),
  status: () => import("./auth/status.ts"),
  me: () => import("./auth/me.ts"),
  token: () => import("./auth/token.ts"),
} satisfies Record<string, () => Promise<{ command: AnyCommand }>>;

export type AuthName = keyof typeof AUTH_COMMANDS;

/** Every auth command, loaded: for `pipeops auth --help` and the completions. */
export async function authCommands(): Promise<[AuthName, AnyCommand][]> {
  return Promise.all(
    Object.entries(AUTH_COMMANDS).map(async ([name, load]) => [name as AuthName, (await load()).command as AnyCommand] as [AuthName, AnyCommand]),
  );
}
