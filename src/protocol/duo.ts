/**
 * GA4GH Data Use Ontology (DUO): the terms Itda understands, and the check of a
 * dataset's allowed uses against an application's intended use.
 *
 * Term ids and meanings follow DUO (https://github.com/EBISPOT/DUO, release 2021-02-23);
 * the matching follows the rules of the GA4GH DUO matching guidance: a permission term
 * (NRES, GRU, HMB, DS, POA) says which research purposes are covered, modifier terms
 * narrow it (NCU, NPU, NMDS, GSO) or ask for something a reviewer must confirm (IRB,
 * PUB, COL, …); CC (clinical care use) adds a use and restricts nothing. Pure functions, no I/O.
 */
import { z } from 'zod';

/** DUO terms by abbreviation. Permissions first, then modifiers. */
export const DUO_TERMS = {
  NRES: { id: 'DUO:0000004', label: 'no restriction', kind: 'permission' },
  GRU: { id: 'DUO:0000042', label: 'general research use', kind: 'permission' },
  HMB: { id: 'DUO:0000006', label: 'health or medical or biomedical research', kind: 'permission' },
  DS: { id: 'DUO:0000007', label: 'disease specific research', kind: 'permission' },
  POA: { id: 'DUO:0000011', label: 'population origins or ancestry research only', kind: 'permission' },
  RS: { id: 'DUO:0000012', label: 'research specific restrictions', kind: 'modifier' },
  NMDS: { id: 'DUO:0000015', label: 'no general methods research', kind: 'modifier' },
  GSO: { id: 'DUO:0000016', label: 'genetic studies only', kind: 'modifier' },
  NPUNCU: { id: 'DUO:0000018', label: 'not-for-profit, non-commercial use only', kind: 'modifier' },
  PUB: { id: 'DUO:0000019', label: 'publication required', kind: 'modifier' },
  COL: { id: 'DUO:0000020', label: 'collaboration required', kind: 'modifier' },
  IRB: { id: 'DUO:0000021', label: 'ethics approval required', kind: 'modifier' },
  GS: { id: 'DUO:0000022', label: 'geographical restriction', kind: 'modifier' },
  MOR: { id: 'DUO:0000024', label: 'publication moratorium', kind: 'modifier' },
  TS: { id: 'DUO:0000025', label: 'time limit on use', kind: 'modifier' },
  US: { id: 'DUO:0000026', label: 'user specific restriction', kind: 'modifier' },
  PS: { id: 'DUO:0000027', label: 'project specific restriction', kind: 'modifier' },
  IS: { id: 'DUO:0000028', label: 'institution specific restriction', kind: 'modifier' },
  RTN: { id: 'DUO:0000029', label: 'return to database or resource', kind: 'modifier' },
  CC: { id: 'DUO:0000043', label: 'clinical care use', kind: 'modifier' },
  NPOA: { id: 'DUO:0000044', label: 'population origins or ancestry research prohibited', kind: 'modifier' },
  NPU: { id: 'DUO:0000045', label: 'not-for-profit organisation use only', kind: 'modifier' },
  NCU: { id: 'DUO:0000046', label: 'non-commercial use only', kind: 'modifier' },
} as const;

export type DuoCode = keyof typeof DUO_TERMS;
const DUO_CODES = Object.keys(DUO_TERMS) as DuoCode[];
const BY_ID = new Map<string, DuoCode>(DUO_CODES.map((code) => [DUO_TERMS[code].id, code]));

/** The abbreviation of a DUO term given as `DUO:0000042` or `GRU`; undefined when unknown. */
export function duoCode(term: string): DuoCode | undefined {
  const t = term.trim();
  if (BY_ID.has(t)) return BY_ID.get(t);
  const upper = t.toUpperCase();
  return (DUO_CODES as string[]).includes(upper) ? (upper as DuoCode) : undefined;
}

/** A DUO term's id when `term` is exactly its id (`DUO:0000042`), else undefined. */
export function duoCodeOfId(term: string): DuoCode | undefined {
  const code = duoCode(term);
  return code && DUO_TERMS[code].id === term ? code : undefined;
}

/** The OBO PURL of a DUO term id, as DCAT exports write it. */
export function duoIri(id: string): string {
  return `http://purl.obolibrary.org/obo/${id.replace(':', '_')}`;
}

/** What a researcher says the data will be used for (the "research purpose" side of DUO). */
export const intendedUseSchema = z.strictObject({
  /** GRU (DUO:0000042) general research, HMB (DUO:0000006), DS (DUO:0000007), POA (DUO:0000011). */
  purpose: z.enum(['GRU', 'HMB', 'DS', 'POA']),
  /** For DS: the disease(s) studied, as OMOP condition concept ids. */
  diseaseConceptIds: z.array(z.number().int().positive()).max(50).default([]),
  /** Results or models will be used commercially (sold, licensed, in a product). */
  commercial: z.boolean().default(false),
  /** The applying organisation is for-profit (a company). */
  forProfitOrganisation: z.boolean().default(false),
  /** Developing general methods (algorithms, software) rather than studying a disease. */
  methodsResearch: z.boolean().default(false),
  /** The study is a genetic study. */
  geneticStudy: z.boolean().default(false),
});
export type IntendedUse = z.infer<typeof intendedUseSchema>;

/** A dataset's allowed uses as published in the catalog. */
export interface DatasetUse {
  /** DUO term ids (`DUO:0000007`) or abbreviations (`DS`). */
  terms: readonly string[];
  /** For DS: the diseases the data may be used for (OMOP concept ids). */
  diseaseConceptIds?: readonly number[];
}

export type DuoStatus = 'compatible' | 'needs_review' | 'conflict';

export interface DuoFinding {
  /** The DUO abbreviation the finding is about (or `none` when the dataset states nothing). */
  term: DuoCode | 'none' | 'unknown';
  status: DuoStatus;
  message: string;
}

export interface DuoVerdict {
  status: DuoStatus;
  findings: DuoFinding[];
}

export interface DuoCheckOptions {
  /**
   * True when concept `descendant` is `ancestor` or lies below it in the vocabulary
   * (OMOP concept_ancestor). Without it only equal concepts count as the same disease,
   * and a different disease is left to the reviewers.
   */
  isDescendantOf?: (descendant: number, ancestor: number) => boolean;
  /** The application records an ethics (IRB) approval. */
  hasIrbApproval?: boolean;
}

const RANK: Record<DuoStatus, number> = { compatible: 0, needs_review: 1, conflict: 2 };

/** The worse of the statuses: conflict over needs_review over compatible. */
export function worstDuoStatus(statuses: readonly DuoStatus[]): DuoStatus {
  return statuses.reduce<DuoStatus>((worst, s) => (RANK[s] > RANK[worst] ? s : worst), 'compatible');
}

/** Modifiers a reviewer has to confirm (they become permit conditions, not conflicts). */
const REVIEW_MODIFIERS: ReadonlySet<DuoCode> = new Set([
  'PUB',
  'COL',
  'GS',
  'MOR',
  'TS',
  'US',
  'PS',
  'IS',
  'RTN',
]);

/**
 * Checks a dataset's DUO allowed uses against an application's intended use.
 *
 * Permission (GA4GH DUO): NRES and GRU cover every purpose; HMB covers HMB and DS (a
 * disease study is health research) but not GRU or POA; DS covers only DS for one of the
 * dataset's diseases or a descendant of one; POA covers only POA. Modifiers: NCU refuses
 * commercial use; NPU refuses for-profit organisations and commercial use; NPUNCU both;
 * NMDS refuses general methods research; NPOA refuses ancestry research; GSO refuses non-genetic studies; IRB needs a
 * recorded approval; the others (RS, PUB, COL, GS, MOR, TS, US, PS, IS, RTN) are conditions
 * the DRB must confirm. A dataset with no permission term, or an unknown term, needs
 * review. The verdict is the worst finding.
 */
export function checkDuoCompatibility(
  dataset: DatasetUse,
  use: IntendedUse,
  options: DuoCheckOptions = {},
): DuoVerdict {
  const findings: DuoFinding[] = [];
  const codes = new Set<DuoCode>();
  for (const term of dataset.terms) {
    const code = duoCode(term);
    if (code) codes.add(code);
    else findings.push({ term: 'unknown', status: 'needs_review', message: `unknown DUO term ${term}` });
  }
  const permissions = [...codes].filter((c) => DUO_TERMS[c].kind === 'permission');
  if (permissions.length === 0) {
    findings.push({
      term: 'none',
      status: 'needs_review',
      message: 'the dataset states no DUO permission; reviewers decide',
    });
  }
  const datasetDiseases = dataset.diseaseConceptIds ?? [];
  for (const code of permissions) findings.push(permissionFinding(code, use, datasetDiseases, options));
  for (const code of codes) {
    if (DUO_TERMS[code].kind !== 'modifier') continue;
    const finding = modifierFinding(code, use, options);
    if (finding) findings.push(finding);
  }
  // Several permission terms are alternatives: the best one decides the permission.
  const permissionFindings = findings.filter((f) => permissions.includes(f.term as DuoCode));
  const bestPermission =
    permissionFindings.length > 0
      ? permissionFindings.reduce((best, f) => (RANK[f.status] < RANK[best.status] ? f : best))
      : undefined;
  const counted = findings.filter((f) => !permissionFindings.includes(f) || f === bestPermission);
  return { status: worstDuoStatus(counted.map((f) => f.status)), findings };
}

function permissionFinding(
  code: DuoCode,
  use: IntendedUse,
  datasetDiseases: readonly number[],
  options: DuoCheckOptions,
): DuoFinding {
  const ok = (message: string): DuoFinding => ({ term: code, status: 'compatible', message });
  const conflict = (message: string): DuoFinding => ({ term: code, status: 'conflict', message });
  switch (code) {
    case 'NRES':
    case 'GRU':
      return ok(`${code} covers ${use.purpose}`);
    case 'HMB':
      return use.purpose === 'HMB' || use.purpose === 'DS'
        ? ok(`HMB covers ${use.purpose}`)
        : conflict(`the dataset allows health/medical research only; the application is ${use.purpose}`);
    case 'POA':
      return use.purpose === 'POA'
        ? ok('POA covers POA')
        : conflict(
            `the dataset allows population origins/ancestry research only; the application is ${use.purpose}`,
          );
    case 'DS': {
      if (use.purpose !== 'DS')
        return conflict(
          `the dataset allows disease-specific research only; the application is ${use.purpose}`,
        );
      if (datasetDiseases.length === 0)
        return { term: code, status: 'needs_review', message: 'the dataset names no disease for DS' };
      if (use.diseaseConceptIds.length === 0)
        return { term: code, status: 'needs_review', message: 'the application names no disease for DS' };
      const covered = (disease: number) =>
        datasetDiseases.some(
          (allowed) => allowed === disease || (options.isDescendantOf?.(disease, allowed) ?? false),
        );
      const uncovered = use.diseaseConceptIds.filter((d) => !covered(d));
      if (uncovered.length === 0) return ok('the studied diseases are among the dataset’s DS diseases');
      if (options.isDescendantOf)
        return conflict(`disease(s) ${uncovered.join(', ')} are outside the dataset’s DS diseases`);
      return {
        term: code,
        status: 'needs_review',
        message: `disease(s) ${uncovered.join(', ')} differ from the dataset’s DS diseases; reviewers decide whether they are covered`,
      };
    }
    default:
      return { term: code, status: 'needs_review', message: `${code} is not a permission term` };
  }
}

function modifierFinding(code: DuoCode, use: IntendedUse, options: DuoCheckOptions): DuoFinding | undefined {
  const conflict = (message: string): DuoFinding => ({ term: code, status: 'conflict', message });
  const ok = (message: string): DuoFinding => ({ term: code, status: 'compatible', message });
  switch (code) {
    case 'NCU':
      return use.commercial
        ? conflict('the dataset allows non-commercial use only')
        : ok('non-commercial use');
    case 'NPU':
      if (use.commercial || use.forProfitOrganisation)
        return conflict('the dataset allows use by not-for-profit organisations only');
      return ok('not-for-profit use');
    case 'NPUNCU':
      if (use.commercial || use.forProfitOrganisation)
        return conflict('the dataset allows not-for-profit, non-commercial use only');
      return ok('not-for-profit, non-commercial use');
    case 'NMDS':
      return use.methodsResearch
        ? conflict('the dataset does not allow general methods research')
        : ok('no methods research');
    case 'GSO':
      return use.geneticStudy ? ok('a genetic study') : conflict('the dataset allows genetic studies only');
    case 'NPOA':
      return use.purpose === 'POA'
        ? conflict('the dataset prohibits population origins or ancestry research')
        : ok('no ancestry research');
    case 'IRB':
      return options.hasIrbApproval
        ? ok('an ethics approval is recorded')
        : { term: code, status: 'needs_review', message: 'the dataset requires an ethics (IRB) approval' };
    default:
      if (REVIEW_MODIFIERS.has(code))
        return {
          term: code,
          status: 'needs_review',
          message: `${DUO_TERMS[code].label}: reviewers confirm it (a permit condition)`,
        };
      return undefined;
  }
}
