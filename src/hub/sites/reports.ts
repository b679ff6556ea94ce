/**
 * Quality and profile reports that sites publish about themselves. The hub keeps every
 * report it receives and serves the latest one of each kind per site.
 */
import type { Kysely } from 'kysely';
import { ItdaError } from '../../protocol/errors.ts';
import type { ProfileReport, QualityReport, SiteReportKind } from '../../protocol/reports.ts';
import { audit } from '../audit/service.ts';
import type { HubContext } from '../context.ts';
import type { HubDatabase } from '../db/schema.ts';
import { findSite } from './store.ts';

type ReportBody<K extends SiteReportKind> = K extends 'quality' ? QualityReport : ProfileReport;

export interface StoredReport<K extends SiteReportKind> {
  siteId: string;
  kind: K;
  generatedAt: string;
  receivedAt: string;
  report: ReportBody<K>;
}

async function insertReport(
  db: Kysely<HubDatabase>,
  siteId: string,
  kind: SiteReportKind,
  generatedAt: string,
  body: unknown,
) {
  return db
    .insertInto('site_report')
    .values({ site_id: siteId, kind, generated_at: generatedAt, body: JSON.stringify(body) })
    .returning(['received_at'])
    .executeTakeFirstOrThrow();
}

export async function publishReport<K extends SiteReportKind>(
  ctx: HubContext,
  siteId: string,
  kind: K,
  report: ReportBody<K>,
): Promise<{ receivedAt: string }> {
  const row = await ctx.db.transaction().execute(async (trx) => {
    const inserted = await insertReport(trx, siteId, kind, report.generatedAt, report);
    await audit(
      ctx,
      {
        actorType: 'site',
        actorId: siteId,
        action: `site.publish_${kind}`,
        targetType: 'site',
        targetId: siteId,
      },
      trx,
    );
    return inserted;
  });
  ctx.log.info({ siteId, kind }, 'site report received');
  return { receivedAt: row.received_at.toISOString() };
}

export async function latestReport<K extends SiteReportKind>(
  ctx: HubContext,
  siteId: string,
  kind: K,
): Promise<StoredReport<K>> {
  if (!(await findSite(ctx.db, siteId))) throw new ItdaError('not_found', `no site ${siteId}`);
  const row = await ctx.db
    .selectFrom('site_report')
    .select(['generated_at', 'received_at', 'body'])
    .where('site_id', '=', siteId)
    .where('kind', '=', kind)
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) throw new ItdaError('not_found', `site ${siteId} has not published a ${kind} report yet`);
  return {
    siteId,
    kind,
    generatedAt: row.generated_at.toISOString(),
    receivedAt: row.received_at.toISOString(),
    report: row.body as ReportBody<K>,
  };
}
