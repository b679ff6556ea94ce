/**
 * The hub catalog and concept search on every hub dialect: versions keep history, Korean
 * n-gram and English search, each filter, pages, DCAT export, permissions.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../src/hub/audit/service.ts';
import { seedSiteDataset } from '../src/hub/catalog/seed.ts';
import {
  type CatalogUser,
  canPublishFor,
  createDataset,
  datasetHistory,
  datasetVersion,
  getDataset,
  searchCatalog,
  updateDatasetEntry,
} from '../src/hub/catalog/service.ts';
import { publishReport } from '../src/hub/sites/reports.ts';
import { findConcepts, loadHubVocabulary } from '../src/hub/vocabulary/service.ts';
import type { DatasetInputRaw } from '../src/protocol/catalog.ts';
import { catalogQuerySchema } from '../src/protocol/catalog.ts';
import type { ProfileReport } from '../src/protocol/reports.ts';
import { KCD7_VOCABULARY_DIR } from '../src/synth/vocabulary.ts';
import { HUB_DIALECTS, startTestHub, type TestHub, tempDir } from './support/hub.ts';
import { signIn } from './support/session.ts';

const ADMIN: CatalogUser = { id: 'admin-user', roles: ['admin'], siteRoles: [] };
const RESEARCHER: CatalogUser = { id: 'researcher-user', roles: ['researcher'], siteRoles: [] };
const GLOBAL_STEWARD: CatalogUser = { id: 'global-steward', roles: ['steward'], siteRoles: [] };
const STEWARD_A: CatalogUser = {
  id: 'steward-a',
  roles: [],
  siteRoles: [{ siteId: 'site-a', role: 'steward' }],
};
const STEWARD_B: CatalogUser = {
  id: 'steward-b',
  roles: [],
  siteRoles: [{ siteId: 'site-b', role: 'steward' }],
};

const DIABETES_CONCEPT = 201826;

function dataset(overrides: Partial<DatasetInputRaw> = {}): DatasetInputRaw {
  return {
    siteId: 'site-a',
    title: { ko: '심부전 레지스트리', en: 'Heart failure registry' },
    description: { ko: '입원 환자의 심장 초음파와 검사 결과', en: 'Echocardiography and labs of inpatients' },
    themes: ['cardiology'],
    modalities: ['ehr'],
    codingSystems: ['KCD-7'],
    numberOfRecords: 1000,
    numberOfIndividuals: 100,
    ageRange: { min: 20, max: 90 },
    temporalCoverage: { start: '2015-01-01', end: '2024-12-31' },
    accessRights: 'RESTRICTED',
    allowedUses: [{ code: 'DUO:0000006' }],
    contact: { name: 'Steward A', email: 'steward@a.example' },
    ...overrides,
  };
}

const query = (q: Record<string, unknown>) => catalogQuerySchema.parse(q);

function profileWith(conditionConceptIds: number[]): ProfileReport {
  return {
    generatedAt: new Date().toISOString(),
    minCellCount: 10,
    concepts: Object.fromEntries(conditionConceptIds.map((id) => [String(id), `concept ${id}`])),
    analyses: [
      { analysisId: 1, name: 'Number of persons', stratumNames: [], rows: [{ strata: [], count: 120 }] },
      {
        analysisId: 400,
        name: 'Number of persons with at least one condition occurrence, by condition_concept_id',
        stratumNames: ['condition_concept_id'],
        rows: conditionConceptIds.map((id) => ({ strata: [String(id)], count: 30 })),
      },
      {
        analysisId: 101,
        name: 'Number of persons by age, with age at first observation period',
        stratumNames: ['age'],
        rows: [
          { strata: ['34'], count: 20 },
          { strata: ['71'], count: 20 },
        ],
      },
      {
        analysisId: 111,
        name: 'Number of persons by observation period start month',
        stratumNames: ['calendar month'],
        rows: [
          { strata: ['201803'], count: 40 },
          { strata: ['202302'], count: 40 },
        ],
      },
    ],
    distributions: [],
  };
}

describe.each(HUB_DIALECTS)('catalog on %s', (dialect) => {
  let hub: TestHub | undefined;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    hub = await startTestHub(dialect, { seedDemoAccounts: true });
    if (!hub) return;
    for (const [id, name] of [
      ['site-a', '서울하늘병원 Seoul Haneul Hospital'],
      ['site-b', '부산바다병원 Busan Bada Hospital'],
      ['site-c', '대전숲병원 Daejeon Forest Hospital'],
    ] as const) {
      await sql`insert into site (id, name, public_key, status, software)
        values (${id}, ${name}, ${`key-${id}`}, 'approved', 'test')`.execute(hub.ctx.db);
    }
    await publishReport(hub.ctx, 'site-b', 'profile', profileWith([DIABETES_CONCEPT, 320128]));
    await publishReport(hub.ctx, 'site-c', 'profile', profileWith([320128]));
    const ctx = hub.ctx;
    ids.heart = (await createDataset(ctx, STEWARD_A, dataset())).id;
    ids.diabetes = (
      await createDataset(
        ctx,
        ADMIN,
        dataset({
          siteId: 'site-b',
          title: { ko: '2형 당뇨병 코호트', en: 'Type 2 diabetes cohort' },
          description: {
            ko: '당뇨병 환자의 혈당과 처방',
            en: 'Glucose and prescriptions of diabetic patients',
          },
          numberOfIndividuals: 5000,
          accessRights: 'NON_PUBLIC',
          allowedUses: [{ code: 'DUO:0000007', disease: 'OMOP:201826' }, { code: 'DUO:0000021' }],
        }),
      )
    ).id;
    ids.imaging = (
      await createDataset(
        ctx,
        ADMIN,
        dataset({
          siteId: 'site-c',
          title: { ko: '위암 내시경 영상', en: 'Gastric cancer endoscopy images' },
          description: { ko: '내시경 영상과 병리 판독', en: 'Endoscopy images with pathology reads' },
          modalities: ['imaging', 'clinical_notes'],
          numberOfIndividuals: null,
          accessRights: 'PUBLIC',
          allowedUses: [{ code: 'DUO:0000042' }],
        }),
      )
    ).id;
    ids.ecg = (
      await createDataset(
        ctx,
        ADMIN,
        dataset({
          siteId: 'site-c',
          title: { ko: '심전도 파형', en: 'ECG waveforms' },
          description: { ko: '12유도 심전도', en: '12-lead electrocardiograms' },
          modalities: ['ecg_waveform'],
          numberOfIndividuals: 800,
        }),
      )
    ).id;
    ids.wearable = (
      await createDataset(
        ctx,
        ADMIN,
        dataset({
          siteId: 'site-b',
          title: { ko: '웨어러블 활동량', en: 'Wearable activity' },
          description: { ko: '걸음 수와 심박', en: 'Steps and heart rate' },
          modalities: ['lifelog_wearable'],
          numberOfIndividuals: 300,
          allowedUses: [{ code: 'DUO:0000042' }, { code: 'DUO:0000046' }],
        }),
      )
    ).id;
  });
  afterAll(async () => {
    await hub?.dispose();
  });

  it('keeps every version: history, any old version, and refuses a stale edit', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const created = await createDataset(
      ctx,
      STEWARD_A,
      dataset({ title: { ko: '초판', en: 'First draft' } }),
    );
    expect(created.version).toBe(1);
    const edited = await updateDatasetEntry(
      ctx,
      STEWARD_A,
      created.id,
      1,
      dataset({ title: { ko: '개정판', en: 'Revised' }, numberOfIndividuals: 150 }),
    );
    expect(edited.version).toBe(2);
    expect(edited.dataset.title.en).toBe('Revised');
    const history = await datasetHistory(ctx, created.id);
    expect(history.map((v) => [v.version, v.dataset.title.en, v.editedBy])).toEqual([
      [2, 'Revised', 'steward-a'],
      [1, 'First draft', 'steward-a'],
    ]);
    expect((await datasetVersion(ctx, created.id, 1)).dataset.numberOfIndividuals).toBe(100);
    await expect(updateDatasetEntry(ctx, STEWARD_A, created.id, 1, dataset())).rejects.toMatchObject({
      code: 'conflict',
    });
    expect((await getDataset(ctx, created.id)).version).toBe(2);
    // Both saves are in the audit log, by the steward, and the refused one is not.
    const entries = await listAudit(ctx, { targetType: 'dataset', targetId: created.id });
    expect(entries.map((e) => [e.action, e.actorId, e.details])).toEqual([
      ['catalog.create', 'steward-a', {}],
      ['catalog.update', 'steward-a', { version: 2 }],
    ]);
    // The search index follows the current version only.
    expect((await searchCatalog(ctx, query({ q: 'Revised' }))).hits.map((h) => h.id)).toEqual([created.id]);
    expect((await searchCatalog(ctx, query({ q: 'First draft' }))).total).toBe(0);
    await sql`delete from dataset where id = ${created.id}`.execute(ctx.db);
  });

  it('finds 당뇨병 from 당뇨, and one-character Korean queries', async (t) => {
    if (!hub) return t.skip();
    const page = await searchCatalog(hub.ctx, query({ q: '당뇨' }));
    expect(page.hits.map((h) => h.id)).toEqual([ids.diabetes]);
    expect(page.total).toBe(1);
    expect((await searchCatalog(hub.ctx, query({ q: '위암' }))).hits.map((h) => h.id)).toEqual([ids.imaging]);
    expect((await searchCatalog(hub.ctx, query({ q: '암' }))).hits.map((h) => h.id)).toEqual([ids.imaging]);
    // The site name is searchable too: 하늘 is in 서울하늘병원.
    expect((await searchCatalog(hub.ctx, query({ q: '하늘' }))).hits.map((h) => h.id)).toEqual([ids.heart]);
  });

  it('searches English case-insensitively, ranking title matches first', async (t) => {
    if (!hub) return t.skip();
    const diabetes = await searchCatalog(hub.ctx, query({ q: 'DIABETES' }));
    expect(diabetes.hits.map((h) => h.id)).toEqual([ids.diabetes]);
    const heart = await searchCatalog(hub.ctx, query({ q: 'heart' }));
    // "Heart failure registry" has it in the title, "Wearable activity" only in its description.
    expect(heart.hits.map((h) => h.id)).toEqual([ids.heart, ids.wearable]);
    expect(heart.hits[0]!.score!).toBeGreaterThan(heart.hits[1]!.score!);
    expect((await searchCatalog(hub.ctx, query({ q: 'zebrafish' }))).total).toBe(0);
  });

  it('filters by modality, site, access rights, DUO code and condition in the profile', async (t) => {
    if (!hub) return t.skip();
    const found = async (q: Record<string, unknown>) =>
      (await searchCatalog(hub!.ctx, query({ ...q, limit: 100 }))).hits.map((h) => h.id).sort();
    expect(await found({ modality: 'imaging' })).toEqual([ids.imaging]);
    expect(await found({ modality: 'ehr' })).toEqual([ids.heart, ids.diabetes].sort());
    expect(await found({ siteId: 'site-c' })).toEqual([ids.imaging, ids.ecg].sort());
    expect(await found({ accessRights: 'PUBLIC' })).toEqual([ids.imaging]);
    expect(await found({ duo: 'DUO:0000042' })).toEqual([ids.imaging, ids.wearable].sort());
    expect(await found({ duo: 'DUO:0000007' })).toEqual([ids.diabetes]);
    // site-b's profile counts people with 201826; site-c's does not; site-a has no profile.
    expect(await found({ conditionConceptId: DIABETES_CONCEPT })).toEqual(
      [ids.diabetes, ids.wearable].sort(),
    );
    expect(await found({ conditionConceptId: 320128, siteId: 'site-c' })).toEqual(
      [ids.imaging, ids.ecg].sort(),
    );
    expect(await found({ conditionConceptId: 4329847 })).toEqual([]);
    expect(await found({ q: '심', modality: 'ecg_waveform' })).toEqual([ids.ecg]);
  });

  it('sorts and pages with a total that does not depend on the page', async (t) => {
    if (!hub) return t.skip();
    const byIndividuals = await searchCatalog(hub.ctx, query({ sort: 'individuals', limit: 100 }));
    expect(byIndividuals.hits.map((h) => h.numberOfIndividuals)).toEqual([5000, 800, 300, 100, null]);
    const byTitle = await searchCatalog(hub.ctx, query({ sort: 'title', lang: 'en', limit: 100 }));
    expect(byTitle.hits.map((h) => h.title.en)).toEqual(
      [...byTitle.hits.map((h) => h.title.en)].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())),
    );
    const seen: string[] = [];
    for (const offset of [0, 2, 4]) {
      const page = await searchCatalog(hub.ctx, query({ sort: 'individuals', limit: 2, offset }));
      expect(page.total).toBe(5);
      expect(page.hits.length).toBe(offset === 4 ? 1 : 2);
      seen.push(...page.hits.map((h) => h.id));
    }
    expect(seen).toEqual(byIndividuals.hits.map((h) => h.id));
    expect((await searchCatalog(hub.ctx, query({ offset: 50 }))).total).toBe(5);
  });

  it('refuses invalid DUO codes and DS without a disease', async (t) => {
    if (!hub) return t.skip();
    await expect(
      createDataset(hub.ctx, ADMIN, dataset({ allowedUses: [{ code: 'DUO:9999999' }] })),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/allowedUses\.0\.code/),
    });
    await expect(
      createDataset(hub.ctx, ADMIN, dataset({ allowedUses: [{ code: 'DUO:0000007' }] })),
    ).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/disease/) });
    await expect(createDataset(hub.ctx, ADMIN, dataset({ siteId: 'no-such-site' }))).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('lets only a steward of the publishing site (or an admin) create and edit', async (t) => {
    if (!hub) return t.skip();
    expect(canPublishFor(RESEARCHER, 'site-a')).toBe(false);
    expect(canPublishFor(STEWARD_A, 'site-a')).toBe(true);
    expect(canPublishFor(STEWARD_B, 'site-a')).toBe(false);
    expect(canPublishFor(ADMIN, 'site-a')).toBe(true);
    // Per-site roles decide: the global steward role names no site.
    expect(canPublishFor(GLOBAL_STEWARD, 'site-a')).toBe(false);
    await expect(createDataset(hub.ctx, RESEARCHER, dataset())).rejects.toMatchObject({ code: 'forbidden' });
    await expect(createDataset(hub.ctx, STEWARD_B, dataset())).rejects.toMatchObject({ code: 'forbidden' });
    await expect(updateDatasetEntry(hub.ctx, STEWARD_B, ids.heart!, 1, dataset())).rejects.toMatchObject({
      code: 'forbidden',
    });
    // Nor may a steward move their dataset to a site they do not steward.
    await expect(
      updateDatasetEntry(hub.ctx, STEWARD_A, ids.heart!, 1, dataset({ siteId: 'site-b' })),
    ).rejects.toMatchObject({ code: 'forbidden' });
    expect((await getDataset(hub.ctx, ids.heart!)).version).toBe(1);
  });

  it('serves the catalog over HTTP: search, detail with linked reports, DCAT, refusals', async (t) => {
    if (!hub) return t.skip();
    const url = await hub.listen();
    const researcher = await signIn(url, 'researcher@itda.demo');
    const search = await researcher.json<{ total: number; hits: { id: string }[] }>(
      'GET',
      `/api/catalog?q=${encodeURIComponent('당뇨')}`,
    );
    expect(search).toMatchObject({ status: 200, body: { total: 1, hits: [{ id: ids.diabetes }] } });
    const detail = await researcher.json<{
      profile: { href: string; persons: number } | null;
      quality: unknown;
    }>('GET', `/api/catalog/${ids.diabetes}`);
    expect(detail.body.profile).toMatchObject({ href: '/api/sites/site-b/profile', persons: 120 });
    expect(detail.body.quality).toBeNull();
    expect((await researcher.call('POST', '/api/catalog', dataset())).status).toBe(403);
    expect((await researcher.call('GET', '/api/catalog?limit=1000')).status).toBe(400);
    expect((await fetch(`${url}/api/catalog`)).status).toBe(401);
    const versions = await researcher.json<{ versions: unknown[] }>(
      'GET',
      `/api/catalog/${ids.heart}/versions`,
    );
    expect(versions.body.versions).toHaveLength(1);

    // Per-site stewards over HTTP: steward1 stewards site-1, steward2 site-2.
    for (const id of ['site-1', 'site-2'])
      await sql`insert into site (id, name, public_key, status, software)
        values (${id}, ${`병원 ${id} Hospital ${id}`}, ${`key-${id}`}, 'approved', 'test')`.execute(
        hub.ctx.db,
      );
    const steward1 = await signIn(url, 'steward1@itda.demo');
    const steward2 = await signIn(url, 'steward2@itda.demo');
    expect((await steward2.call('POST', '/api/catalog', dataset({ siteId: 'site-1' }))).status).toBe(403);
    const own = await steward1.json<{ id: string; version: number }>(
      'POST',
      '/api/catalog',
      dataset({ siteId: 'site-1' }),
    );
    expect(own).toMatchObject({ status: 201, body: { version: 1 } });
    const edit = (siteId: string) => ({
      baseVersion: 1,
      dataset: dataset({ siteId, title: { ko: '수정', en: 'Edited' } }),
    });
    expect((await steward2.call('PUT', `/api/catalog/${own.body.id}`, edit('site-1'))).status).toBe(403);
    expect((await steward1.call('PUT', `/api/catalog/${own.body.id}`, edit('site-2'))).status).toBe(403);
    const saved = await steward1.json<{ version: number }>(
      'PUT',
      `/api/catalog/${own.body.id}`,
      edit('site-1'),
    );
    expect(saved).toMatchObject({ status: 200, body: { version: 2 } });
    expect((await steward1.call('PUT', `/api/catalog/${own.body.id}`, edit('site-1'))).status).toBe(409);
    const old = await researcher.json<{ dataset: { title: { en: string } } }>(
      'GET',
      `/api/catalog/${own.body.id}/versions/1`,
    );
    expect(old.body.dataset.title.en).toBe('Heart failure registry');
    await sql`delete from dataset where id = ${own.body.id}`.execute(hub.ctx.db);

    const reply = await fetch(`${url}/api/catalog/dcat`);
    expect(reply.headers.get('content-type')).toMatch(/application\/ld\+json/);
    const dcat = (await reply.json()) as Record<string, unknown> & {
      'dcat:dataset': Record<string, unknown>[];
    };
    expect(dcat['@type']).toBe('dcat:Catalog');
    expect(dcat['@context']).toMatchObject({
      dcat: 'http://www.w3.org/ns/dcat#',
      dct: 'http://purl.org/dc/terms/',
      healthdcatap: expect.any(String),
    });
    expect(dcat['dcat:dataset']).toHaveLength(5);
    const entry = dcat['dcat:dataset'].find((d) => d['dct:identifier'] === ids.diabetes)!;
    expect(entry['@type']).toBe('dcat:Dataset');
    expect(entry['dct:title']).toEqual([
      { '@value': '2형 당뇨병 코호트', '@language': 'ko' },
      { '@value': 'Type 2 diabetes cohort', '@language': 'en' },
    ]);
    expect(entry['dct:publisher']).toMatchObject({
      '@type': 'foaf:Agent',
      'foaf:name': '부산바다병원 Busan Bada Hospital',
    });
    expect(entry['dct:accessRights']).toEqual({
      '@id': 'http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC',
    });
    expect(entry['dct:temporal']).toMatchObject({
      '@type': 'dct:PeriodOfTime',
      'dcat:startDate': { '@value': '2015-01-01' },
      'dcat:endDate': { '@value': '2024-12-31' },
    });
    expect(entry['healthdcatap:numberOfUniqueIndividuals']).toMatchObject({ '@value': '5000' });
    expect(entry['healthdcatap:numberOfRecords']).toMatchObject({ '@value': '1000' });
    expect(entry['dct:rights']).toEqual([
      expect.objectContaining({
        '@id': 'http://purl.obolibrary.org/obo/DUO_0000007',
        'itda:disease': 'OMOP:201826',
      }),
      expect.objectContaining({ '@id': 'http://purl.obolibrary.org/obo/DUO_0000021', 'rdfs:label': 'IRB' }),
    ]);
    expect(entry['dcat:theme']).toEqual([{ '@type': 'skos:Concept', 'skos:prefLabel': 'cardiology' }]);
    // The imaging dataset states no size: the properties are left out rather than null.
    const imaging = dcat['dcat:dataset'].find((d) => d['dct:identifier'] === ids.imaging)!;
    expect(imaging).not.toHaveProperty('healthdcatap:numberOfUniqueIndividuals');
  });

  it('seeds one dataset per site from its published profile, once', async (t) => {
    if (!hub) return t.skip();
    await sql`insert into site (id, name, public_key, status, software)
      values ('site-d', '광주빛병원 Gwangju Bit Hospital', 'key-site-d', 'approved', 'test')`.execute(
      hub.ctx.db,
    );
    await publishReport(hub.ctx, 'site-d', 'profile', profileWith([DIABETES_CONCEPT]));
    expect(await seedSiteDataset(hub.ctx, 'site-d')).toBe(true);
    expect(await seedSiteDataset(hub.ctx, 'site-d')).toBe(false);
    const [hit] = (await searchCatalog(hub.ctx, query({ siteId: 'site-d' }))).hits;
    const seeded = await getDataset(hub.ctx, hit!.id);
    expect(seeded.dataset.title.ko).toBe('광주빛병원 전자의무기록 (OMOP CDM)');
    expect(seeded.dataset.title.en).toBe('Gwangju Bit Hospital electronic health records (OMOP CDM)');
    expect(seeded.dataset).toMatchObject({
      numberOfIndividuals: 120,
      ageRange: { min: 34, max: 71 },
      temporalCoverage: { start: '2018-03-01', end: '2023-02-28' },
    });
    expect((await searchCatalog(hub.ctx, query({ q: '빛병원' }))).hits.map((h) => h.id)).toEqual([hit!.id]);
    await sql`delete from dataset where site_id = 'site-d'`.execute(hub.ctx.db);
  });
});

describe.each(HUB_DIALECTS)('concept search on %s', (dialect) => {
  let hub: TestHub | undefined;
  let dir: string;
  beforeAll(async () => {
    hub = await startTestHub(dialect);
    if (!hub) return;
    dir = await tempDir('itda-vocab-');
    // An Athena-style download: tab-separated, upper-case file names, one bad row.
    await fs.writeFile(
      path.join(dir, 'CONCEPT.csv'),
      [
        'concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\tstandard_concept\tconcept_code\tvalid_start_date\tvalid_end_date\tinvalid_reason',
        '201826\tType 2 diabetes mellitus\tCondition\tSNOMED\tClinical Finding\tS\t44054006\t19700101\t20991231\t',
        '201254\tType 1 diabetes mellitus\tCondition\tSNOMED\tClinical Finding\tS\t46635009\t19700101\t20991231\t',
        '4193704\tType 2 diabetes mellitus without complication\tCondition\tSNOMED\tClinical Finding\tS\t313436004\t19700101\t20991231\t',
        '1503297\tmetformin\tDrug\tRxNorm\tIngredient\tS\t6809\t19700101\t20991231\t',
        '45576876\tType 2 diabetes mellitus\tCondition\tICD10CM\t3-char nonbill code\t\tE11\t19700101\t20991231\t',
        'x12\tBroken row\tCondition\tSNOMED\tClinical Finding\tS\t1\t19700101\t20991231\t',
      ].join('\n'),
    );
    await fs.writeFile(
      path.join(dir, 'CONCEPT_SYNONYM.csv'),
      [
        'concept_id\tconcept_synonym_name\tlanguage_concept_id',
        '201826\t제2형 당뇨병\t4175771',
        '1503297\t메트포르민\t4175771',
        '201826\tDiabetes mellitus type 2\t4180186',
      ].join('\n'),
    );
    const kcd7 = await loadHubVocabulary(hub.ctx.db, KCD7_VOCABULARY_DIR);
    expect(kcd7.concepts).toBeGreaterThan(5);
    // Every KCD-7 code maps to a standard concept; their Korean names become its synonyms.
    expect(kcd7.mappedNames).toBe(kcd7.concepts - 1);
  });
  afterAll(async () => {
    await hub?.dispose();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('loads concepts and synonyms, naming the rejected row by file, line and field', async (t) => {
    if (!hub) return t.skip();
    const result = await loadHubVocabulary(hub.ctx.db, dir);
    expect(result).toMatchObject({ concepts: 5, synonyms: 3, rejected: 1 });
    expect(result.rejections).toEqual([
      expect.stringMatching(/CONCEPT\.csv:7: concept_id: "x12" is not an integer/),
    ]);
    // Loading again upserts: nothing doubles.
    expect(await loadHubVocabulary(hub.ctx.db, dir)).toMatchObject({ concepts: 5, synonyms: 3 });
    const [row] = (
      await sql<{
        n: number;
      }>`select count(*)::int as n from concept_synonym where language_concept_id <> 0`.execute(hub.ctx.db)
    ).rows;
    expect(row!.n).toBe(3);
    await expect(loadHubVocabulary(hub.ctx.db, path.join(dir, 'missing'))).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('ranks an exact code first, then name prefixes, then n-gram matches', async (t) => {
    if (!hub) return t.skip();
    const byCode = await findConcepts(hub.ctx.db, { q: 'e11', limit: 10 });
    expect(byCode[0]).toMatchObject({ conceptId: 45576876, code: 'E11', match: 'code' });
    const byName = await findConcepts(hub.ctx.db, { q: 'type 2 diabetes', limit: 10 });
    expect(byName.slice(0, 2).map((c) => c.match)).toEqual(['prefix', 'prefix']);
    expect(byName.map((c) => c.conceptId)).toEqual(expect.arrayContaining([201826, 4193704, 45576876]));
    expect(byName.map((c) => c.conceptId)).not.toContain(1503297);
    const inside = await findConcepts(hub.ctx.db, { q: 'without complication', limit: 10 });
    expect(inside.map((c) => [c.conceptId, c.match])).toEqual([[4193704, 'ngram']]);
  });

  it('finds concepts by Korean synonym and Korean KCD-7 names', async (t) => {
    if (!hub) return t.skip();
    const synonym = await findConcepts(hub.ctx.db, { q: '메트포르민', limit: 5 });
    expect(synonym.map((c) => c.conceptId)).toEqual([1503297]);
    expect(synonym[0]!.synonyms).toEqual([{ name: '메트포르민', languageConceptId: 4175771 }]);
    expect(synonym[0]!.match).toBe('prefix');
    const korean = await findConcepts(hub.ctx.db, { q: '당뇨', limit: 20 });
    const vocabularies = new Set(korean.map((c) => c.vocabularyId));
    expect(vocabularies).toEqual(new Set(['SNOMED', 'KCD7']));
    expect(korean.map((c) => c.conceptId)).toContain(201826);
    expect(korean.find((c) => c.vocabularyId === 'KCD7')!.name).toMatch(/당뇨병/);
  });

  it('finds standard concepts in Korean through the KCD-7 names that map to them', async (t) => {
    if (!hub) return t.skip();
    const standard = await findConcepts(hub.ctx.db, { q: '2형 당뇨', standard: true, limit: 10 });
    expect(standard.map((c) => c.conceptId)).toEqual([201826]);
    expect(standard[0]!.synonyms.map((s) => s.name)).toContain('합병증을 동반하지 않은 2형 당뇨병');
    // Reloading the standard concept keeps the mapped names (its grams are rebuilt from them).
    await loadHubVocabulary(hub.ctx.db, dir);
    expect(
      (await findConcepts(hub.ctx.db, { q: '2형 당뇨', standard: true, limit: 10 })).map((c) => c.conceptId),
    ).toEqual([201826]);
  });

  it('filters by domain, vocabulary and standard', async (t) => {
    if (!hub) return t.skip();
    const all = await findConcepts(hub.ctx.db, { q: 'diabetes', limit: 20 });
    expect(all.length).toBeGreaterThanOrEqual(4);
    const standard = await findConcepts(hub.ctx.db, { q: 'diabetes', standard: true, limit: 20 });
    expect(standard.every((c) => c.standardConcept === 'S')).toBe(true);
    expect(standard.map((c) => c.conceptId)).not.toContain(45576876);
    const icd = await findConcepts(hub.ctx.db, { q: 'diabetes', vocabulary: 'ICD10CM', limit: 20 });
    expect(icd.map((c) => c.conceptId)).toEqual([45576876]);
    expect(await findConcepts(hub.ctx.db, { q: 'metformin', domain: 'Condition', limit: 20 })).toEqual([]);
    expect(
      (await findConcepts(hub.ctx.db, { q: 'metformin', domain: 'Drug', limit: 20 }))[0]!.conceptId,
    ).toBe(1503297);
  });
});
