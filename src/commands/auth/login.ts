import type { LoginOptions } from "../../cli.ts";
import type { Context } from "../../context.ts";
import { CliError } from "../../errors.ts";
import type { LoginResult } from "../../results.ts";

export async function login(_ctx: Context, _options: LoginOptions): Promise<LoginResult> {
  throw new CliError("usage", "login is not implemented yet");
}
