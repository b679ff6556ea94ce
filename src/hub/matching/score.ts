/**
 * How well one catalog dataset fits a data need: five criteria in [0, 1], summed with
 * fixed weights. Pure, so the ranking can be tested without a database.
 *
 * - modality (0.25): wanted modalities the dataset has / wanted (1 when none wanted);
 * - conditions (0.30): wanted condition concepts whose count in the site's latest profile
 *   (Achilles analysis 400, persons by condition) is a number ≥ the individuals needed
 *   (at least 1) / wanted. A suppressed "<10" is not enough: it says nothing certain.
 *   1 when none wanted, 0 without a profile;
 * - size (0.20): individuals (the catalog entry's, else the profile's analysis 1) /
 *   minimum, capped at 1 (1 without a minimum, 0 when unknown);
 * - temporal (0.10): days of the wanted period inside the dataset's temporal coverage /
 *   days of the wanted period (1 when no period is wanted, 0 without coverage);
 * - DUO (0.15): the GA4GH DUO check (protocol/duo.ts) of the dataset's allowed uses
 *   against the intended use: compatible 1, needs review 0.5; a conflict makes the whole
 *   score 0, since the data could not be granted for that use.
 */

import type { DatasetInput } from '../../protocol/catalog.ts';
import { checkDuoCompatibility, type DuoStatus } from '../../protocol/duo.ts';
import type { NeedInput, ScoreBreakdown } from '../../protocol/matching.ts';
import type { DisclosedCount, ProfileReport } from '../../protocol/reports.ts';

export const WEIGHTS = { modality: 0.25, conditions: 0.3, size: 0.2, temporal: 0.1, duo: 0.15 } as const;
/** A dataset scoring at least this (without a DUO conflict) is matched: its stewards hear of the need. */
export const MATCH_THRESHOLD = 0.5;

const DAY_MS = 86_400_000;
const DUO_SCORE: Record<DuoStatus, number> = { compatible: 1, needs_review: 0.5, conflict: 0 };

/** Persons per condition concept in a profile (analysis 400), as disclosed. */
export function conditionCounts(profile: ProfileReport | undefined): Map<number, DisclosedCount> {
  const counts = new Map<number, DisclosedCount>();
  const analysis = profile?.analyses.find((a) => a.analysisId === 400);
  for (const row of analysis?.rows ?? []) {
    const id = Number(row.strata[0]);
    if (Number.isInteger(id)) counts.set(id, row.count);
  }
  return counts;
}

/** Persons in a profile (analysis 1) when disclosed as a number. */
function profilePersons(profile: ProfileReport | undefined): number | null {
  const count = profile?.analyses.find((a) => a.analysisId === 1)?.rows[0]?.count;
  return typeof count === 'number' ? count : null;
}

function days(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / DAY_MS;
}

/** DS diseases written as "OMOP:<concept id>" in the catalog. */
function omopDiseases(dataset: DatasetInput): number[] {
  return dataset.allowedUses.flatMap((u) => {
    const match = /^OMOP:(\d+)$/i.exec(u.disease ?? '');
    return match ? [Number(match[1])] : [];
  });
}

export interface DatasetFit {
  score: number;
  matched: boolean;
  breakdown: ScoreBreakdown;
}

export function scoreDataset(
  need: NeedInput,
  dataset: DatasetInput,
  profile: ProfileReport | undefined,
): DatasetFit {
  const matchedModalities = need.modalities.filter((m) => dataset.modalities.includes(m));
  const modality = need.modalities.length === 0 ? 1 : matchedModalities.length / need.modalities.length;

  const needed = Math.max(need.minIndividuals ?? 1, 1);
  const counts = conditionCounts(profile);
  const enough = need.conditionConceptIds.filter((id) => {
    const count = counts.get(id);
    return typeof count === 'number' && count >= needed;
  });
  const notEnough = need.conditionConceptIds.filter((id) => !enough.includes(id));
  const conditions =
    need.conditionConceptIds.length === 0 ? 1 : enough.length / need.conditionConceptIds.length;

  const individuals = dataset.numberOfIndividuals ?? profilePersons(profile);
  const size =
    need.minIndividuals === null
      ? 1
      : individuals === null
        ? 0
        : Math.min(1, individuals / need.minIndividuals);

  let overlapDays = 0;
  let temporal = 1;
  if (need.period) {
    const wanted = days(need.period.end) - days(need.period.start) + 1;
    const coverage = dataset.temporalCoverage;
    if (coverage) {
      const start = Math.max(days(need.period.start), days(coverage.start));
      const end = Math.min(days(need.period.end), days(coverage.end));
      overlapDays = Math.max(0, end - start + 1);
    }
    temporal = overlapDays / wanted;
  }

  const duoStatus = checkDuoCompatibility(
    { terms: dataset.allowedUses.map((u) => u.code), diseaseConceptIds: omopDiseases(dataset) },
    need.intendedUse,
  ).status;
  const duo = DUO_SCORE[duoStatus];

  const weighted =
    WEIGHTS.modality * modality +
    WEIGHTS.conditions * conditions +
    WEIGHTS.size * size +
    WEIGHTS.temporal * temporal +
    WEIGHTS.duo * duo;
  const score = duoStatus === 'conflict' ? 0 : Math.round(weighted * 10_000) / 10_000;
  return {
    score,
    matched: duoStatus !== 'conflict' && score >= MATCH_THRESHOLD,
    breakdown: {
      modality: { score: modality, weight: WEIGHTS.modality, matched: matchedModalities },
      conditions: { score: conditions, weight: WEIGHTS.conditions, enough, notEnough },
      size: { score: size, weight: WEIGHTS.size, individuals },
      temporal: { score: temporal, weight: WEIGHTS.temporal, overlapDays },
      duo: { score: duo, weight: WEIGHTS.duo, status: duoStatus },
    },
  };
}
