/** A token from the environment: which variables hold one. Small, as the entry point checks it before a command loads. */
import type { Env } from "./runtime/types.ts";

/**
 * The variables a token may come from, the first set winning: ours, and the official Go CLI's name
 * for the same thing (PipeOpsHQ/pipeops-cli internal/config/config.go, EnvTokenName). Neither is
 * ever written to disk.
 */
export const ENV_TOKEN_VARIABLES = ["PIPEOPS_AUTH_TOKEN", "PIPEOPS_TOKEN"] as const;
export type EnvTokenVariable = (typeof ENV_TOKEN_VARIABLES)[number];

/** The token the environment gives, and the variable it is in; undefined when neither is set. */
export function envToken(env: Env): { variable: EnvTokenVariable; token: string } | undefined {
  for (const variable of ENV_TOKEN_VARIABLES) {
    const token = env[variable]?.trim();
    if (token) return { variable, token };
  }
  return undefined;
}
