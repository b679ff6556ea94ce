/**
 * The demo network's DRBs: each demo site's board is made of the per-site DRB accounts
 * the demo seeds (auth/demo-accounts.ts: drb<N>-a … drb<N>-e, d and e external), so an
 * application can be reviewed end to end on first start.
 */
import { audit } from '../audit/service.ts';
import { DEMO_SITE_ACCOUNTS } from '../auth/demo-accounts.ts';
import { findUserByEmail } from '../auth/store.ts';
import type { HubContext } from '../context.ts';
import { checkDrbComposition } from './decision.ts';
import { findDrb, replaceDrb } from './store.ts';

/** Configures the DRB of every listed demo site that has none yet; existing boards are left alone. */
export async function seedDemoDrbs(ctx: HubContext, siteIds: readonly string[]): Promise<void> {
  for (const siteId of siteIds) {
    if (await findDrb(ctx.db, siteId)) continue;
    const members: { userId: string; external: boolean }[] = [];
    for (const account of DEMO_SITE_ACCOUNTS) {
      if (!account.siteRoles.some((r) => r.siteId === siteId && r.role === 'drb_member')) continue;
      const user = await findUserByEmail(ctx.db, account.email);
      if (user) members.push({ userId: user.id, external: account.external ?? false });
    }
    if (members.length === 0) continue;
    const quorum = checkDrbComposition(members);
    await ctx.db.transaction().execute(async (trx) => {
      await replaceDrb(trx, { siteId, quorum, members }, null);
      await audit(
        ctx,
        {
          actorType: 'system',
          actorId: null,
          action: 'drb.configure',
          targetType: 'site',
          targetId: siteId,
          details: { members: members.length, external: members.filter((m) => m.external).length, quorum },
        },
        trx,
      );
    });
  }
}
