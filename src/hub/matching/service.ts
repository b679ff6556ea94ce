/**
 * Demand/supply matching (수요-공급 매칭, the data-voucher flow): a company or researcher
 * posts a data need; the hub ranks every catalog dataset by fit (score.ts) from the
 * catalog entry and the site's latest published profile; the stewards of matched sites
 * see the need and respond; with an interested site the need becomes an application
 * draft. States: open → matched (a site is interested) → closed. Every change is audited
 * and notified in the same transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ItdaError } from '../../protocol/errors.ts';
import {
  type MatchView,
  type NeedInput,
  type NeedResponseInput,
  type NeedSummary,
  type NeedView,
  needInputSchema,
  type ScoreBreakdown,
} from '../../protocol/matching.ts';
import type { ProfileReport } from '../../protocol/reports.ts';
import { createApplication } from '../access/service.ts';
import { audit } from '../audit/service.ts';
import type { PublicUser } from '../auth/service.ts';
import { catalogEntries } from '../catalog/service.ts';
import { latestReports } from '../catalog/store.ts';
import type { HubContext } from '../context.ts';
import type { HubDatabase } from '../db/schema.ts';
import { notify } from '../notifications/service.ts';
import { siteRoleHolders } from '../notifications/store.ts';
import { MATCH_THRESHOLD, scoreDataset } from './score.ts';
import {
  allNeeds,
  findNeed,
  insertMatches,
  insertNeed,
  matchedSitesOf,
  matchesOf,
  type NeedRow,
  needsMatchedAt,
  needsPostedBy,
  responsesOf,
  updateNeed,
  upsertResponse,
} from './store.ts';

export type MatchingUser = Pick<PublicUser, 'id' | 'roles' | 'siteRoles'>;
type Db = Kysely<HubDatabase>;

/** At most this many datasets are kept per need, best first. */
const MAX_MATCHES = 50;

const isAdmin = (user: MatchingUser) => user.roles.includes('admin');
const stewardSites = (user: MatchingUser) =>
  user.siteRoles.filter((r) => r.role === 'steward').map((r) => r.siteId);
const actorOf = (user: MatchingUser) => ({ actorType: 'user' as const, actorId: user.id });
const needLink = (id: string) => `/matching/${id}`;
const today = () => new Date().toISOString().slice(0, 10);

export interface RankedDataset {
  datasetId: string;
  siteId: string;
  score: number;
  matched: boolean;
  breakdown: ScoreBreakdown;
}

/** Every catalog dataset scored for the need, best first (ties by dataset id). */
export async function rankDatasets(
  ctx: HubContext,
  need: NeedInput,
  db: Db = ctx.db,
): Promise<RankedDataset[]> {
  const entries = await catalogEntries({ ...ctx, db });
  const profiles = new Map(
    (await latestReports(db, 'profile')).map((r) => [r.site_id, r.body as ProfileReport]),
  );
  return entries
    .map(({ row, dataset }) => ({
      datasetId: row.id,
      siteId: row.site_id,
      ...scoreDataset(need, dataset, profiles.get(row.site_id)),
    }))
    .sort((a, b) => b.score - a.score || a.datasetId.localeCompare(b.datasetId));
}

export async function postNeed(ctx: HubContext, user: MatchingUser, input: unknown): Promise<NeedView> {
  const need = needInputSchema.parse(input);
  if (need.deadline && need.deadline < today())
    throw new ItdaError('validation_failed', `deadline: ${need.deadline} has already passed`);
  const ranked = (await rankDatasets(ctx, need)).slice(0, MAX_MATCHES);
  const matchedSites = [...new Set(ranked.filter((r) => r.matched).map((r) => r.siteId))].sort();
  const row = await ctx.db.transaction().execute(async (trx) => {
    const created = await insertNeed(trx, { id: randomUUID(), posterId: user.id, content: need });
    await insertMatches(
      trx,
      ranked.map((r) => ({ needId: created.id, ...r })),
    );
    await audit(
      ctx,
      {
        ...actorOf(user),
        action: 'need.post',
        targetType: 'need',
        targetId: created.id,
        details: { matchedSites, ranked: ranked.length },
      },
      trx,
    );
    await notify(
      ctx,
      {
        userIds: await siteRoleHolders(trx, matchedSites, 'steward'),
        kind: 'need.matched',
        title: { ko: '기관 데이터에 맞는 수요가 등록되었습니다', en: 'A data need matches your site' },
        body: `${need.title.ko} / ${need.title.en}`,
        link: needLink(created.id),
      },
      trx,
    );
    return created;
  });
  return viewNeed(ctx, user, row);
}

/** Sites of this need the user may see: all for its poster and admins, else the stewarded matched ones. */
async function visibleSites(ctx: HubContext, user: MatchingUser, row: NeedRow, db: Db = ctx.db) {
  if (row.poster_id === user.id || isAdmin(user)) return 'all' as const;
  const matched = (await matchedSitesOf(db, [row.id], MATCH_THRESHOLD)).get(row.id) ?? [];
  return matched.filter((s) => stewardSites(user).includes(s));
}

async function readable(ctx: HubContext, user: MatchingUser, id: string, db: Db = ctx.db) {
  const row = await findNeed(db, id, db !== ctx.db);
  // Someone who may not see a need learns nothing about whether it exists.
  if (!row) throw new ItdaError('not_found', `no data need ${id}`);
  const sites = await visibleSites(ctx, user, row, db);
  if (sites !== 'all' && sites.length === 0) throw new ItdaError('not_found', `no data need ${id}`);
  return { row, sites };
}

export async function getNeed(ctx: HubContext, user: MatchingUser, id: string): Promise<NeedView> {
  const { row } = await readable(ctx, user, id);
  return viewNeed(ctx, user, row);
}

/** Needs the user posted, and needs matched to the sites they steward (admins: all). */
export async function listNeeds(ctx: HubContext, user: MatchingUser): Promise<NeedSummary[]> {
  const rows = isAdmin(user)
    ? await allNeeds(ctx.db)
    : [
        ...new Map(
          [
            ...(await needsPostedBy(ctx.db, user.id)),
            ...(await needsMatchedAt(ctx.db, stewardSites(user), MATCH_THRESHOLD)),
          ].map((r) => [r.id, r]),
        ).values(),
      ].sort((a, b) => b.created_at.getTime() - a.created_at.getTime());
  const matched = await matchedSitesOf(
    ctx.db,
    rows.map((r) => r.id),
    MATCH_THRESHOLD,
  );
  return rows.map((row) => {
    const need = row.content as NeedInput;
    const sites = matched.get(row.id) ?? [];
    const mine = row.poster_id === user.id || isAdmin(user);
    return {
      id: row.id,
      title: need.title,
      state: row.state,
      posterId: row.poster_id,
      deadline: need.deadline,
      createdAt: row.created_at.toISOString(),
      matchedSites: mine ? sites : sites.filter((s) => stewardSites(user).includes(s)),
    };
  });
}

/** A steward of a matched site answers the need; the poster is notified. */
export async function respondToNeed(
  ctx: HubContext,
  user: MatchingUser,
  id: string,
  input: NeedResponseInput,
): Promise<NeedView> {
  const row = await ctx.db.transaction().execute(async (trx) => {
    const { row: current, sites } = await readable(ctx, user, id, trx);
    if (!stewardSites(user).includes(input.siteId))
      throw new ItdaError('forbidden', `only a steward of ${input.siteId} responds for it`);
    if (sites !== 'all' && !sites.includes(input.siteId))
      throw new ItdaError('forbidden', `the need is not matched to ${input.siteId}`);
    if (sites === 'all') {
      const matched = (await matchedSitesOf(trx, [id], MATCH_THRESHOLD)).get(id) ?? [];
      if (!matched.includes(input.siteId))
        throw new ItdaError('forbidden', `the need is not matched to ${input.siteId}`);
    }
    if (current.state === 'closed') throw new ItdaError('conflict', 'the need is closed');
    const deadline = (current.content as NeedInput).deadline;
    if (deadline && today() > deadline)
      throw new ItdaError('conflict', `the need's deadline ${deadline} has passed`);
    await upsertResponse(trx, {
      needId: id,
      siteId: input.siteId,
      responderId: user.id,
      response: input.response,
      message: input.message,
    });
    const next = input.response === 'interested' && current.state === 'open' ? 'matched' : current.state;
    const updated = await updateNeed(trx, id, { state: next });
    await audit(
      ctx,
      {
        ...actorOf(user),
        action: 'need.respond',
        targetType: 'need',
        targetId: id,
        details: { siteId: input.siteId, response: input.response, from: current.state, to: next },
      },
      trx,
    );
    const need = current.content as NeedInput;
    await notify(
      ctx,
      {
        userIds: [current.poster_id],
        kind: 'need.response',
        title: {
          ko: `${input.siteId} 기관이 수요에 응답했습니다`,
          en: `${input.siteId} responded to your data need`,
        },
        body: `${need.title.ko} / ${need.title.en}: ${input.response}${input.message ? ` — ${input.message}` : ''}`,
        link: needLink(id),
      },
      trx,
    );
    return updated;
  });
  return viewNeed(ctx, user, row);
}

async function ownNeedForUpdate(ctx: HubContext, trx: Db, user: MatchingUser, id: string): Promise<NeedRow> {
  const { row } = await readable(ctx, user, id, trx);
  if (row.poster_id !== user.id) throw new ItdaError('forbidden', 'only the poster changes a data need');
  if (row.state === 'closed') throw new ItdaError('conflict', 'the need is already closed');
  return row;
}

export async function closeNeed(ctx: HubContext, user: MatchingUser, id: string): Promise<NeedView> {
  const row = await ctx.db.transaction().execute(async (trx) => {
    const current = await ownNeedForUpdate(ctx, trx, user, id);
    const updated = await updateNeed(trx, id, { state: 'closed' });
    await audit(
      ctx,
      {
        ...actorOf(user),
        action: 'need.close',
        targetType: 'need',
        targetId: id,
        details: { from: current.state },
      },
      trx,
    );
    return updated;
  });
  return viewNeed(ctx, user, row);
}

/**
 * Turns the need into an application draft (access service), prefilled with its title,
 * purpose, intended use and period, and the datasets and sites that answered
 * "interested"; the need is closed with a link to the application.
 */
export async function needToApplication(
  ctx: HubContext,
  user: MatchingUser,
  id: string,
): Promise<{ applicationId: string; need: NeedView }> {
  const { row } = await readable(ctx, user, id);
  if (row.poster_id !== user.id)
    throw new ItdaError('forbidden', 'only the poster turns a need into an application');
  if (row.state === 'closed') throw new ItdaError('conflict', 'the need is closed');
  const interested = (await responsesOf(ctx.db, id))
    .filter((r) => r.response === 'interested')
    .map((r) => r.site_id);
  if (interested.length === 0)
    throw new ItdaError('conflict', 'no matched site has answered "interested" yet');
  const datasetIds = (await matchesOf(ctx.db, id))
    .filter((m) => interested.includes(m.site_id) && m.score >= MATCH_THRESHOLD)
    .map((m) => m.dataset_id);
  const need = row.content as NeedInput;
  const application = await createApplication(ctx, user, {
    title: need.title.ko === need.title.en ? need.title.ko : `${need.title.ko} (${need.title.en})`,
    purpose:
      need.description.ko === need.description.en
        ? need.description.ko
        : `${need.description.ko}\n\n${need.description.en}`,
    intendedUse: need.intendedUse,
    datasetIds,
    siteIds: [...interested].sort(),
    ...(need.period ? { period: need.period } : {}),
  });
  const updated = await ctx.db.transaction().execute(async (trx) => {
    await ownNeedForUpdate(ctx, trx, user, id);
    const closed = await updateNeed(trx, id, { state: 'closed', applicationId: application.id });
    await audit(
      ctx,
      {
        ...actorOf(user),
        action: 'need.to_application',
        targetType: 'need',
        targetId: id,
        details: { applicationId: application.id, sites: interested },
      },
      trx,
    );
    return closed;
  });
  return { applicationId: application.id, need: await viewNeed(ctx, user, updated) };
}

async function viewNeed(ctx: HubContext, user: MatchingUser, row: NeedRow): Promise<NeedView> {
  const sites = await visibleSites(ctx, user, row);
  const shown = (siteId: string) => sites === 'all' || sites.includes(siteId);
  const matches: MatchView[] = (await matchesOf(ctx.db, row.id))
    .filter((m) => shown(m.site_id))
    .map((m, i) => ({
      rank: i + 1,
      datasetId: m.dataset_id,
      siteId: m.site_id,
      siteName: m.site_name,
      datasetTitle: { ko: m.title_ko ?? '', en: m.title_en ?? '' },
      score: m.score,
      matched: m.score >= MATCH_THRESHOLD,
      breakdown: m.breakdown as ScoreBreakdown,
    }));
  const responses = (await responsesOf(ctx.db, row.id))
    .filter((r) => shown(r.site_id))
    .map((r) => ({
      siteId: r.site_id,
      responderId: r.responder_id,
      response: r.response,
      message: r.message,
      respondedAt: r.responded_at.toISOString(),
    }));
  return {
    id: row.id,
    posterId: row.poster_id,
    state: row.state,
    need: row.content as NeedInput,
    applicationId: row.application_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    matches,
    responses,
  };
}
