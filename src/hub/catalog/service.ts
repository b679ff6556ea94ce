/**
 * The catalog: stewards describe their site's datasets (HealthDCAT-AP-like fields, see
 * schema.ts); every save is a new version and the old ones stay readable; researchers
 * search across sites in Korean and English with filters, sorts and pages.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  type CatalogHit,
  type CatalogPage,
  type CatalogQuery,
  type Dataset,
  type DatasetInput,
  type DatasetInputRaw,
  type DatasetVersion,
  datasetInputSchema,
} from '../../protocol/catalog.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { ProfileReport, QualityReport } from '../../protocol/reports.ts';
import { audit } from '../audit/service.ts';
import type { PublicUser } from '../auth/service.ts';
import type { HubContext } from '../context.ts';
import type { HubDatabase } from '../db/schema.ts';
import { findSite } from '../sites/store.ts';
import { indexGrams, queryGrams, requiredGramHits } from './ngram.ts';
import {
  allDatasets,
  type DatasetColumns,
  type DatasetRow,
  datasetsOfSite,
  findDataset,
  findVersion,
  insertDataset,
  insertVersion,
  latestReports,
  listVersions,
  replaceGrams,
  searchDatasets,
  updateDataset,
} from './store.ts';

/** A user as the catalog sees one. */
export type CatalogUser = Pick<PublicUser, 'id' | 'roles' | 'siteRoles'>;

/**
 * Whether the user may create or edit the datasets a site publishes: an admin, or a
 * steward of that very site (a per-site role; the global steward role alone is not
 * enough). The one place to change when the rule changes.
 */
export function canPublishFor(user: CatalogUser, siteId: string): boolean {
  return (
    user.roles.includes('admin') || user.siteRoles.some((r) => r.siteId === siteId && r.role === 'steward')
  );
}

function requirePublisher(user: CatalogUser, siteId: string): void {
  if (!canPublishFor(user, siteId))
    throw new ItdaError(
      'forbidden',
      `only a steward of site ${siteId} (or an admin) may describe its datasets`,
    );
}

const TITLE_WEIGHT = 3;
const TEXT_WEIGHT = 1;

/** Grams of the searchable text; a gram found in a title weighs more than one found elsewhere. */
export function datasetGrams(d: DatasetInput, siteName: string): Map<string, number> {
  const grams = new Map<string, number>();
  const add = (text: string, weight: number) => {
    for (const gram of indexGrams(text)) grams.set(gram, Math.max(weight, grams.get(gram) ?? 0));
  };
  add(`${d.title.ko} ${d.title.en}`, TITLE_WEIGHT);
  add(
    [d.description.ko, d.description.en, ...d.themes, ...d.codingSystems, ...d.modalities, siteName].join(
      ' ',
    ),
    TEXT_WEIGHT,
  );
  return grams;
}

function columnsOf(id: string, version: number, d: DatasetInput): DatasetColumns {
  return {
    id,
    siteId: d.siteId,
    version,
    titleKo: d.title.ko,
    titleEn: d.title.en,
    accessRights: d.accessRights,
    modalities: d.modalities,
    duoCodes: d.allowedUses.map((u) => u.code),
    individuals: d.numberOfIndividuals,
    body: d,
  };
}

function parseInput(input: DatasetInputRaw): DatasetInput {
  const parsed = datasetInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ItdaError('validation_failed', `${issue.path.join('.') || 'dataset'}: ${issue.message}`);
  }
  return parsed.data;
}

async function siteNameOf(db: Kysely<HubDatabase>, siteId: string): Promise<string> {
  const site = await findSite(db, siteId);
  if (!site) throw new ItdaError('not_found', `no site ${siteId}`);
  return site.name;
}

/** Creates a dataset entry (version 1). */
export async function createDataset(
  ctx: HubContext,
  user: CatalogUser,
  input: DatasetInputRaw,
): Promise<Dataset> {
  const d = parseInput(input);
  requirePublisher(user, d.siteId);
  const id = randomUUID();
  await ctx.db.transaction().execute(async (trx) => {
    const siteName = await siteNameOf(trx, d.siteId);
    await insertDataset(trx, columnsOf(id, 1, d));
    await insertVersion(trx, { datasetId: id, version: 1, body: d, editedBy: user.id });
    await replaceGrams(trx, id, datasetGrams(d, siteName));
    await audit(
      ctx,
      {
        actorType: user.id === 'system' ? 'system' : 'user',
        actorId: user.id === 'system' ? null : user.id,
        action: 'catalog.create',
        targetType: 'dataset',
        targetId: id,
      },
      trx,
    );
  });
  return getDataset(ctx, id);
}

/**
 * Saves a new version. `baseVersion` is the version the editor started from; if another
 * save came in between, the edit is refused (conflict) instead of silently overwriting.
 */
export async function updateDatasetEntry(
  ctx: HubContext,
  user: CatalogUser,
  id: string,
  baseVersion: number,
  input: DatasetInputRaw,
): Promise<Dataset> {
  const d = parseInput(input);
  const current = await findDataset(ctx.db, id);
  if (!current) throw new ItdaError('not_found', `no dataset ${id}`);
  // Both the site it was published for and the one it would move to must be the editor's.
  requirePublisher(user, current.site_id);
  requirePublisher(user, d.siteId);
  await ctx.db.transaction().execute(async (trx) => {
    const siteName = await siteNameOf(trx, d.siteId);
    const version = baseVersion + 1;
    if (!(await updateDataset(trx, columnsOf(id, version, d), baseVersion))) {
      throw new ItdaError(
        'conflict',
        `dataset ${id} is at version ${current.version}, not ${baseVersion}: reload and edit again`,
      );
    }
    await insertVersion(trx, { datasetId: id, version, body: d, editedBy: user.id });
    await replaceGrams(trx, id, datasetGrams(d, siteName));
    await audit(
      ctx,
      {
        actorType: 'user',
        actorId: user.id,
        action: 'catalog.update',
        targetType: 'dataset',
        targetId: id,
        details: { version },
      },
      trx,
    );
  });
  return getDataset(ctx, id);
}

function percentPassed(report: unknown): number | null {
  return (report as QualityReport | undefined)?.overall?.percentPassed ?? null;
}

/** Persons in the profile (Achilles analysis 1), as disclosed by the site. */
export function profilePersons(report: ProfileReport): number | string | null {
  return report.analyses.find((a) => a.analysisId === 1)?.rows[0]?.count ?? null;
}

async function present(ctx: HubContext, row: DatasetRow): Promise<Dataset> {
  const [quality] = await latestReports(ctx.db, 'quality', [row.site_id]);
  const [profile] = await latestReports(ctx.db, 'profile', [row.site_id]);
  const link = (kind: string, r: { generated_at: Date; received_at: Date }) => ({
    href: `/api/sites/${encodeURIComponent(row.site_id)}/${kind}`,
    generatedAt: r.generated_at.toISOString(),
    receivedAt: r.received_at.toISOString(),
  });
  return {
    id: row.id,
    version: row.version,
    siteName: row.site_name,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    dataset: row.body as DatasetInput,
    quality: quality ? { ...link('quality', quality), percentPassed: percentPassed(quality.body) } : null,
    profile: profile
      ? { ...link('profile', profile), persons: profilePersons(profile.body as ProfileReport) }
      : null,
  };
}

export async function getDataset(ctx: HubContext, id: string): Promise<Dataset> {
  const row = await findDataset(ctx.db, id);
  if (!row) throw new ItdaError('not_found', `no dataset ${id}`);
  return present(ctx, row);
}

/** Every version of a dataset, newest first. */
export async function datasetHistory(ctx: HubContext, id: string): Promise<DatasetVersion[]> {
  const rows = await listVersions(ctx.db, id);
  if (rows.length === 0) throw new ItdaError('not_found', `no dataset ${id}`);
  return rows.map(versionOf);
}

export async function datasetVersion(ctx: HubContext, id: string, version: number): Promise<DatasetVersion> {
  const row = await findVersion(ctx.db, id, version);
  if (!row) throw new ItdaError('not_found', `dataset ${id} has no version ${version}`);
  return versionOf(row);
}

function versionOf(row: {
  dataset_id: string;
  version: number;
  body: unknown;
  edited_by: string;
  edited_at: Date;
}): DatasetVersion {
  return {
    datasetId: row.dataset_id,
    version: row.version,
    editedBy: row.edited_by,
    editedAt: row.edited_at.toISOString(),
    dataset: row.body as DatasetInput,
  };
}

/** Condition concepts a profile shows people for (Achilles analysis 400: persons by condition). */
export function profileHasCondition(profile: ProfileReport, conceptId: number): boolean {
  const persons = profile.analyses.find((a) => a.analysisId === 400);
  return !!persons?.rows.some((r) => r.strata[0] === String(conceptId) && r.count !== 0);
}

/**
 * Searches the catalog. Text matches by character n-grams (ngram.ts): a dataset matches
 * when it holds at least `requiredGramHits` of the query's grams; relevance is the
 * weighted share of grams found. The condition filter keeps datasets of sites whose
 * latest published profile counts people with that condition.
 */
export async function searchCatalog(ctx: HubContext, query: CatalogQuery): Promise<CatalogPage> {
  const grams = query.q ? queryGrams(query.q) : [];
  let siteIds: string[] | undefined = query.siteId ? [query.siteId] : undefined;
  if (query.conditionConceptId !== undefined) {
    const profiles = await latestReports(ctx.db, 'profile', siteIds);
    siteIds = profiles
      .filter((p) => profileHasCondition(p.body as ProfileReport, query.conditionConceptId!))
      .map((p) => p.site_id);
  }
  const sort =
    query.sort === 'title'
      ? query.lang === 'ko'
        ? 'title_ko'
        : 'title_en'
      : (query.sort ?? (grams.length > 0 ? 'relevance' : 'updated'));
  const { total, rows } = await searchDatasets(ctx.db, {
    ...(grams.length > 0 ? { text: { grams, required: requiredGramHits(grams.length) } } : {}),
    ...(query.modality ? { modality: query.modality } : {}),
    ...(siteIds ? { siteIds } : {}),
    ...(query.accessRights ? { accessRights: query.accessRights } : {}),
    ...(query.duo ? { duo: query.duo } : {}),
    sort,
    limit: query.limit,
    offset: query.offset,
  });
  const hits: CatalogHit[] = rows.map((row) => {
    const d = row.body as DatasetInput;
    return {
      id: row.id,
      version: row.version,
      siteId: row.site_id,
      siteName: row.site_name,
      title: d.title,
      description: d.description,
      modalities: d.modalities,
      accessRights: d.accessRights,
      allowedUses: d.allowedUses.map((u) => u.code),
      numberOfIndividuals: d.numberOfIndividuals,
      updatedAt: row.updated_at.toISOString(),
      score: row.score === null ? null : Number(row.score),
    };
  });
  return { total, limit: query.limit, offset: query.offset, hits };
}

/** Every dataset with its current version, for the DCAT export. */
export async function catalogEntries(ctx: HubContext): Promise<{ row: DatasetRow; dataset: DatasetInput }[]> {
  return (await allDatasets(ctx.db)).map((row) => ({ row, dataset: row.body as DatasetInput }));
}

export async function siteHasDatasets(ctx: HubContext, siteId: string): Promise<boolean> {
  return (await datasetsOfSite(ctx.db, siteId)) > 0;
}
