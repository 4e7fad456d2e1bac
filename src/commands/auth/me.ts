import { requireSession, verifySession } from "../../auth/session.ts";
import type { Context } from "../../context.ts";
import type { MeResult } from "../../results.ts";

export interface MeOptions {
  json: boolean;
}

export async function me(ctx: Context, _options: MeOptions): Promise<MeResult> {
  const session = await requireSession(ctx);
  return { kind: "me", user: await verifySession(ctx, session) };
}
