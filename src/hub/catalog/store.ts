/** SQL for the catalog: datasets, their versions and their search grams. */
import { type Kysely, sql } from 'kysely';
import type { AccessRights, HubDatabase } from '../db/schema.ts';

export interface DatasetRow {
  id: string;
  site_id: string;
  site_name: string;
  version: number;
  body: unknown;
  created_at: Date;
  updated_at: Date;
}

export interface DatasetColumns {
  id: string;
  siteId: string;
  version: number;
  titleKo: string;
  titleEn: string;
  accessRights: AccessRights;
  modalities: string[];
  duoCodes: string[];
  individuals: number | null;
  body: unknown;
}

function columns(d: DatasetColumns) {
  return {
    site_id: d.siteId,
    version: d.version,
    title_ko: d.titleKo,
    title_en: d.titleEn,
    access_rights: d.accessRights,
    modalities: JSON.stringify(d.modalities),
    duo_codes: JSON.stringify(d.duoCodes),
    individuals: d.individuals,
    body: JSON.stringify(d.body),
  };
}

export async function insertDataset(db: Kysely<HubDatabase>, d: DatasetColumns): Promise<void> {
  await db
    .insertInto('dataset')
    .values({ id: d.id, ...columns(d) })
    .execute();
}

/** Moves the current row to the next version; false when someone else saved first. */
export async function updateDataset(
  db: Kysely<HubDatabase>,
  d: DatasetColumns,
  baseVersion: number,
): Promise<boolean> {
  const result = await db
    .updateTable('dataset')
    .set({ ...columns(d), updated_at: sql`now()` })
    .where('id', '=', d.id)
    .where('version', '=', baseVersion)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function insertVersion(
  db: Kysely<HubDatabase>,
  v: { datasetId: string; version: number; body: unknown; editedBy: string },
): Promise<void> {
  await db
    .insertInto('dataset_version')
    .values({
      dataset_id: v.datasetId,
      version: v.version,
      body: JSON.stringify(v.body),
      edited_by: v.editedBy,
    })
    .execute();
}

/** Replaces a dataset's search grams (weight: how much a match on that gram counts). */
export async function replaceGrams(
  db: Kysely<HubDatabase>,
  datasetId: string,
  grams: Map<string, number>,
): Promise<void> {
  await db.deleteFrom('dataset_gram').where('dataset_id', '=', datasetId).execute();
  const rows = [...grams].map(([gram, weight]) => ({ dataset_id: datasetId, gram, weight }));
  for (let i = 0; i < rows.length; i += 5000)
    await db
      .insertInto('dataset_gram')
      .values(rows.slice(i, i + 5000))
      .execute();
}

function datasetSelect(db: Kysely<HubDatabase>) {
  return db
    .selectFrom('dataset as d')
    .innerJoin('site as s', 's.id', 'd.site_id')
    .select([
      'd.id',
      'd.site_id',
      's.name as site_name',
      'd.version',
      'd.body',
      'd.created_at',
      'd.updated_at',
    ]);
}

export async function findDataset(db: Kysely<HubDatabase>, id: string): Promise<DatasetRow | undefined> {
  return datasetSelect(db).where('d.id', '=', id).executeTakeFirst();
}

export async function datasetsOfSite(db: Kysely<HubDatabase>, siteId: string): Promise<number> {
  const row = await db
    .selectFrom('dataset')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('site_id', '=', siteId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function allDatasets(db: Kysely<HubDatabase>): Promise<DatasetRow[]> {
  return datasetSelect(db).orderBy('d.created_at').orderBy('d.id').execute();
}

export async function listVersions(db: Kysely<HubDatabase>, datasetId: string) {
  return db
    .selectFrom('dataset_version')
    .select(['dataset_id', 'version', 'body', 'edited_by', 'edited_at'])
    .where('dataset_id', '=', datasetId)
    .orderBy('version', 'desc')
    .execute();
}

export async function findVersion(db: Kysely<HubDatabase>, datasetId: string, version: number) {
  return db
    .selectFrom('dataset_version')
    .select(['dataset_id', 'version', 'body', 'edited_by', 'edited_at'])
    .where('dataset_id', '=', datasetId)
    .where('version', '=', version)
    .executeTakeFirst();
}

export interface SearchFilter {
  /** Query grams and how many of them must match; absent means no text query. */
  text?: { grams: string[]; required: number };
  modality?: string;
  siteIds?: string[];
  accessRights?: AccessRights;
  duo?: string;
  sort: 'relevance' | 'title_ko' | 'title_en' | 'updated' | 'individuals';
  limit: number;
  offset: number;
}

export interface SearchRow extends DatasetRow {
  score: number | null;
}

/** One page of datasets matching the filter, and how many match in all. */
export async function searchDatasets(
  db: Kysely<HubDatabase>,
  f: SearchFilter,
): Promise<{ total: number; rows: SearchRow[] }> {
  const matches = f.text
    ? db
        .selectFrom('dataset_gram')
        .select(['dataset_id', sql<number>`sum(weight)`.as('weight_sum')])
        .where('gram', 'in', f.text.grams)
        .groupBy('dataset_id')
        .having(sql`count(*)`, '>=', f.text.required)
    : undefined;
  let base = db.selectFrom('dataset as d').innerJoin('site as s', 's.id', 'd.site_id');
  if (matches) base = base.innerJoin(matches.as('m'), 'm.dataset_id', 'd.id') as typeof base;
  base = base
    .$if(!!f.modality, (q) => q.where(sql<boolean>`d.modalities @> ${JSON.stringify([f.modality])}::jsonb`))
    .$if(!!f.duo, (q) => q.where(sql<boolean>`d.duo_codes @> ${JSON.stringify([f.duo])}::jsonb`))
    .$if(!!f.accessRights, (q) => q.where('d.access_rights', '=', f.accessRights!))
    .$if(!!f.siteIds, (q) => q.where('d.site_id', 'in', f.siteIds!.length > 0 ? f.siteIds! : ['']));

  const counted = await base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  const score = matches
    ? sql<number | null>`m.weight_sum::float8 / ${f.text!.grams.length}`
    : sql<number | null>`null::float8`;
  let page = base.select([
    'd.id',
    'd.site_id',
    's.name as site_name',
    'd.version',
    'd.body',
    'd.created_at',
    'd.updated_at',
    score.as('score'),
  ]);
  switch (f.sort) {
    case 'relevance':
      page = matches ? page.orderBy(sql`m.weight_sum`, 'desc') : page.orderBy('d.updated_at', 'desc');
      break;
    case 'title_ko':
      page = page.orderBy('d.title_ko');
      break;
    case 'title_en':
      page = page.orderBy(sql`lower(d.title_en)`);
      break;
    case 'updated':
      page = page.orderBy('d.updated_at', 'desc');
      break;
    case 'individuals':
      page = page.orderBy(sql`d.individuals desc nulls last`);
      break;
    default: {
      const never: never = f.sort;
      throw new Error(`unknown sort ${String(never)}`);
    }
  }
  const rows = await page.orderBy('d.id').limit(f.limit).offset(f.offset).execute();
  return { total: Number(counted.n), rows: rows as SearchRow[] };
}

/** The latest published report of a kind for every site that has one. */
export async function latestReports(
  db: Kysely<HubDatabase>,
  kind: 'quality' | 'profile',
  siteIds?: string[],
) {
  let q = db
    .selectFrom('site_report')
    .select(['site_id', 'generated_at', 'received_at', 'body'])
    .distinctOn('site_id')
    .where('kind', '=', kind);
  if (siteIds) q = q.where('site_id', 'in', siteIds.length > 0 ? siteIds : ['']);
  return q.orderBy('site_id').orderBy('received_at', 'desc').orderBy('id', 'desc').execute();
}
