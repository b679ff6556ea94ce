/**
 * A first catalog entry for a site, written from what the site itself published (its
 * profile): the demo network seeds one per hospital so the catalog is never empty.
 */

import type { DatasetInputRaw, Modality } from '../../protocol/catalog.ts';
import type { ProfileReport } from '../../protocol/reports.ts';
import type { HubContext } from '../context.ts';
import { findSite } from '../sites/store.ts';
import { type CatalogUser, createDataset, profilePersons, siteHasDatasets } from './service.ts';
import { latestReports } from './store.ts';

/** The hub itself, publishing on a site's behalf (only the demo does this). */
export const SYSTEM_PUBLISHER: CatalogUser = { id: 'system', roles: ['admin'], siteRoles: [] };

const HANGUL = /[\uac00-\ud7a3]/;

/** "서울하늘병원 Seoul Haneul Hospital" → { ko: "서울하늘병원", en: "Seoul Haneul Hospital" }. */
export function splitBilingualName(name: string): { ko: string; en: string } {
  const words = name.split(/\s+/).filter(Boolean);
  const ko = words.filter((w) => HANGUL.test(w)).join(' ');
  const en = words.filter((w) => !HANGUL.test(w)).join(' ');
  return { ko: ko || name, en: en || name };
}

function numeric(count: number | string | undefined | null): number | null {
  return typeof count === 'number' ? count : null;
}

/** Sums of numeric cells; "<10" cells are left out, so the total is a lower bound. */
function recordCount(profile: ProfileReport): number | null {
  const recordAnalyses = new Set([201, 401, 601, 701, 801, 1801]);
  let total = 0;
  let seen = false;
  for (const a of profile.analyses)
    if (recordAnalyses.has(a.analysisId))
      for (const r of a.rows) {
        const n = numeric(r.count);
        if (n !== null) {
          total += n;
          seen = true;
        }
      }
  return seen ? total : null;
}

function strataRange(profile: ProfileReport, analysisId: number): [number, number] | null {
  const values = (profile.analyses.find((a) => a.analysisId === analysisId)?.rows ?? [])
    .filter((r) => r.count !== 0)
    .map((r) => Number(r.strata[0]))
    .filter((v) => Number.isFinite(v));
  return values.length > 0 ? [Math.min(...values), Math.max(...values)] : null;
}

function topConditions(profile: ProfileReport, n: number): string[] {
  const rows = profile.analyses.find((a) => a.analysisId === 400)?.rows ?? [];
  return rows
    .filter((r) => typeof r.count === 'number' && r.count > 0 && r.strata[0] && r.strata[0] !== '0')
    .sort((a, b) => (b.count as number) - (a.count as number))
    .slice(0, n)
    .map((r) => profile.concepts[r.strata[0]!])
    .filter((name): name is string => !!name);
}

function monthBounds(range: [number, number] | null): { start: string; end: string } | null {
  if (!range) return null;
  const [from, to] = range;
  const pad = (m: number) => String(m).padStart(2, '0');
  const start = `${Math.floor(from / 100)}-${pad(from % 100)}-01`;
  const endYear = Math.floor(to / 100);
  const endMonth = to % 100;
  const lastDay = new Date(Date.UTC(endYear, endMonth, 0)).getUTCDate();
  return { start, end: `${endYear}-${pad(endMonth)}-${pad(lastDay)}` };
}

/** The entry a site's profile supports; without a profile, only what the site's name says. */
export function datasetFromProfile(
  siteId: string,
  siteName: string,
  profile: ProfileReport | undefined,
): DatasetInputRaw {
  const name = splitBilingualName(siteName);
  const persons = profile ? numeric(profilePersons(profile)) : null;
  const ages = profile ? strataRange(profile, 101) : null;
  const period = profile ? monthBounds(strataRange(profile, 111)) : null;
  const conditions = profile ? topConditions(profile, 5) : [];
  const has = (analysisId: number) =>
    !!profile?.analyses.find((a) => a.analysisId === analysisId)?.rows.some((r) => r.count !== 0);
  const codingSystems = ['OMOP CDM v5.4', 'KCD-7'];
  if (has(400)) codingSystems.push('SNOMED CT');
  if (has(1800)) codingSystems.push('LOINC');
  if (has(700)) codingSystems.push('RxNorm');
  const modalities: Modality[] = ['ehr'];
  const size = persons === null ? '' : ` ${persons.toLocaleString('en')}`;
  const span = period ? `, ${period.start} – ${period.end}` : '';
  return {
    siteId,
    title: {
      ko: `${name.ko} 전자의무기록 (OMOP CDM)`,
      en: `${name.en} electronic health records (OMOP CDM)`,
    },
    description: {
      ko:
        `${name.ko}의 진료 기록(진단, 처방, 검사, 방문)을 OMOP CDM v5.4로 변환한 데이터셋입니다.` +
        (persons === null ? '' : ` 환자 ${persons.toLocaleString('ko')}명${span}.`) +
        ' 데이터는 병원 밖으로 나가지 않으며 가능성 조회와 승인된 분석만 허용됩니다.',
      en:
        `Clinical records of ${name.en} (diagnoses, prescriptions, tests, visits) in OMOP CDM v5.4.` +
        (persons === null ? '' : `${size} patients${span}.`) +
        ' The data stays in the hospital; feasibility counts and approved analyses only.' +
        (conditions.length > 0 ? ` Frequent conditions: ${conditions.join(', ')}.` : ''),
    },
    themes: ['전자의무기록', 'EHR', ...conditions],
    modalities,
    codingSystems,
    numberOfRecords: profile ? recordCount(profile) : null,
    numberOfIndividuals: persons,
    ageRange: ages ? { min: Math.max(0, ages[0]), max: Math.min(150, ages[1]) } : null,
    temporalCoverage: period,
    accessRights: 'RESTRICTED',
    allowedUses: [{ code: 'DUO:0000006' }, { code: 'DUO:0000021' }, { code: 'DUO:0000046' }],
    contact: { name: `${name.en} data steward`, email: `steward@${siteId}.itda.demo` },
  };
}

/** Describes the site's data once; a site that already has an entry is left alone. */
export async function seedSiteDataset(ctx: HubContext, siteId: string): Promise<boolean> {
  if (await siteHasDatasets(ctx, siteId)) return false;
  const site = await findSite(ctx.db, siteId);
  if (!site) return false;
  const [profile] = await latestReports(ctx.db, 'profile', [siteId]);
  await createDataset(
    ctx,
    SYSTEM_PUBLISHER,
    datasetFromProfile(siteId, site.name, profile?.body as ProfileReport | undefined),
  );
  return true;
}
