/**
 * Site registry and the authentication of site requests: a site is known by its
 * Ed25519 key; every request it makes is signed, fresh and never replayed.
 */
import { timingSafeEqual } from 'node:crypto';
import { ItdaError } from '../../protocol/errors.ts';
import {
  parsePublicKey,
  REQUEST_WINDOW_MS,
  type SignedRequestParts,
  verifySignedRequest,
} from '../../protocol/signing.ts';
import type { HealthSite, RegistrationReply, SiteRegistration } from '../../protocol/wire.ts';
import { siteIdSchema } from '../../protocol/wire.ts';
import { type Actor, audit } from '../audit/service.ts';
import type { HubContext } from '../context.ts';
import {
  findSite,
  findSiteByKey,
  forgetNoncesBefore,
  insertSite,
  listSites,
  rememberNonce,
  type SiteRow,
  setSiteStatus,
  touchSite,
  updateSiteOnReregistration,
} from './store.ts';

export interface SignedCall {
  parts: SignedRequestParts;
  method: string;
  path: string;
  body: string;
}

async function checkFreshAndUnused(ctx: HubContext, publicKey: string, siteId: string, call: SignedCall) {
  verifySignedRequest(publicKey, call.parts, call);
  if (!(await rememberNonce(ctx.db, siteId, call.parts.nonce))) {
    throw new ItdaError('replayed_request', 'this request was already received (nonce reused)');
  }
}

/** Authenticates a signed request from a registered site; returns the site. */
export async function authenticateSite(ctx: HubContext, call: SignedCall): Promise<SiteRow> {
  const site = await findSite(ctx.db, call.parts.siteId);
  if (!site) throw new ItdaError('unknown_site', `site ${call.parts.siteId} is not registered`);
  await checkFreshAndUnused(ctx, site.public_key, site.id, call);
  if (site.status !== 'approved') {
    throw new ItdaError(
      'site_not_approved',
      `site ${site.id} is ${site.status}; the operator has not approved it`,
    );
  }
  await touchSite(ctx.db, site.id);
  return site;
}

function tokenMatches(expected: string | undefined, given: string | undefined): boolean {
  if (!expected || !given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Registers (or re-registers) a site. The request must be signed with the key being
 * registered, proving the site holds it. A valid enrolment token approves at once;
 * otherwise the site waits as `pending` for the operator.
 */
export async function registerSite(
  ctx: HubContext,
  call: SignedCall,
  registration: SiteRegistration,
): Promise<RegistrationReply> {
  const siteId = siteIdSchema.parse(call.parts.siteId);
  parsePublicKey(registration.publicKey);
  const known = await findSite(ctx.db, siteId);
  if (known && known.public_key !== registration.publicKey) {
    throw new ItdaError('conflict', `site id ${siteId} is registered with a different key`);
  }
  const keyOwner = await findSiteByKey(ctx.db, registration.publicKey);
  if (keyOwner && keyOwner.id !== siteId) {
    throw new ItdaError('conflict', `this key is already registered as site ${keyOwner.id}`);
  }
  // The nonce table references the site, so a first registration checks the signature
  // first and records the nonce once the row exists.
  verifySignedRequest(registration.publicKey, call.parts, call);
  const approve = tokenMatches(ctx.config.enrolmentToken, registration.enrolmentToken);
  const site = known
    ? await updateSiteOnReregistration(ctx.db, siteId, {
        name: registration.name,
        software: registration.software,
        approve,
      })
    : await insertSite(ctx.db, {
        id: siteId,
        name: registration.name,
        publicKey: registration.publicKey,
        software: registration.software,
        approved: approve,
      });
  if (!(await rememberNonce(ctx.db, siteId, call.parts.nonce))) {
    throw new ItdaError('replayed_request', 'this request was already received (nonce reused)');
  }
  await touchSite(ctx.db, siteId);
  await audit(ctx, {
    actorType: 'site',
    actorId: siteId,
    action: known ? 'site.reregister' : 'site.register',
    targetType: 'site',
    targetId: siteId,
    details: { status: site.status, software: registration.software },
  });
  ctx.log.info({ siteId, status: site.status }, 'site registered');
  return { siteId, status: site.status, hubPublicKey: ctx.keys.publicKey };
}

/** A site is seen when a poll starts and again when it ends (answered, timed out or dropped). */
export async function markSiteSeen(ctx: HubContext, siteId: string): Promise<void> {
  await touchSite(ctx.db, siteId);
}

export async function approveSite(ctx: HubContext, actor: Actor, siteId: string): Promise<void> {
  const site = await findSite(ctx.db, siteId);
  if (!site) throw new ItdaError('not_found', `no site ${siteId}`);
  await ctx.db.transaction().execute(async (trx) => {
    await setSiteStatus(trx, siteId, 'approved');
    await audit(ctx, { ...actor, action: 'site.approve', targetType: 'site', targetId: siteId }, trx);
  });
}

export async function sitesForHealth(ctx: HubContext, now = new Date()): Promise<HealthSite[]> {
  const sites = await listSites(ctx.db);
  return sites.map((s) => ({
    id: s.id,
    name: s.name,
    status: s.status,
    connected:
      s.status === 'approved' &&
      ((ctx.activePolls.get(s.id) ?? 0) > 0 ||
        (s.last_seen_at !== null &&
          now.getTime() - s.last_seen_at.getTime() < ctx.config.siteOfflineAfterSeconds * 1000)),
    lastSeenAt: s.last_seen_at?.toISOString() ?? null,
  }));
}

/** Nonces older than twice the accepted window can never be replayed successfully. */
export async function pruneNonces(ctx: HubContext, now = new Date()): Promise<void> {
  await forgetNoncesBefore(ctx.db, new Date(now.getTime() - 2 * REQUEST_WINDOW_MS));
}
