import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirValidator } from '../../test/support/fhir-schema.ts';
import { tempDir } from '../../test/support/hub.ts';
import { parseCsv } from '../omop/csv.ts';
import { ItdaError } from '../protocol/errors.ts';
import { DIAGNOSES, type DiagnosisKey, SYSTEMS } from './codes.ts';
import { isoDay } from './dates.ts';
import { RESOURCE_TYPES } from './fhir.ts';
import { POPULATION_2023, rrnAgrees, rrnCheckDigit } from './korea.ts';
import { bandValue, LUNG_CANCER, PREVALENCE, STROKE_MODEL } from './model.ts';
import { generatePerson, type Person, periodOf } from './person.ts';
import { synthesize } from './synthesize.ts';
import { KCD7_VOCABULARY_DIR, kcd7VocabularyFiles } from './vocabulary.ts';

const EUNOMIA = path.resolve(import.meta.dirname, '../../../shared/data/eunomia-synthea27nj-5.4');
const PERIOD = periodOf('2015-01-01', '2025-12-31');
const N = 20_000;

function readNdjson<T = Record<string, unknown>>(file: string): T[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
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

/** Weighted least squares by IRLS for a logistic regression; returns the coefficients. */
function logisticRegression(x: number[][], y: number[], iterations = 30): number[] {
  const p = x[0]!.length;
  let beta = new Array<number>(p).fill(0);
  for (let it = 0; it < iterations; it++) {
    const h = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    const g = new Array<number>(p).fill(0);
    for (let i = 0; i < x.length; i++) {
      const row = x[i]!;
      const eta = row.reduce((s, v, j) => s + v * beta[j]!, 0);
      const mu = 1 / (1 + Math.exp(-eta));
      const w = mu * (1 - mu);
      for (let a = 0; a < p; a++) {
        g[a]! += row[a]! * (y[i]! - mu);
        for (let b = 0; b < p; b++) h[a]![b]! += w * row[a]! * row[b]!;
      }
    }
    // Solve h · step = g by Gaussian elimination.
    const m = h.map((r, i) => [...r, g[i]!]);
    for (let c = 0; c < p; c++) {
      let pivot = c;
      for (let r = c + 1; r < p; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[pivot]![c]!)) pivot = r;
      [m[c], m[pivot]] = [m[pivot]!, m[c]!];
      for (let r = 0; r < p; r++) {
        if (r === c) continue;
        const f = m[r]![c]! / m[c]![c]!;
        for (let k = c; k <= p; k++) m[r]![k]! -= f * m[c]![k]!;
      }
    }
    const step = m.map((r, i) => r[p]! / r[i]!);
    beta = beta.map((b, j) => b + step[j]!);
    if (Math.max(...step.map(Math.abs)) < 1e-8) break;
  }
  return beta;
}

describe('synthetic population: ground truth (N = 20,000)', () => {
  const people: Person[] = [];
  beforeAll(() => {
    for (let i = 0; i < N; i++) people.push(generatePerson(20_231, i, 3, PERIOD));
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

  it('recovers the sign of every stroke risk coefficient with a logistic regression', () => {
    const atRisk = people.filter((p) => p.strokeModel);
    const names = Object.keys(STROKE_MODEL.coefficients) as (keyof typeof STROKE_MODEL.coefficients)[];
    const x = atRisk.map((p) => [1, ...names.map((n) => p.strokeModel!.features[n])]);
    const y = atRisk.map((p) => (p.strokeModel!.stroke ? 1 : 0));
    expect(y.reduce<number>((a, b) => a + b, 0)).toBeGreaterThan(100);
    const beta = logisticRegression(x, y);
    const fitted = Object.fromEntries(names.map((n, i) => [n, Math.sign(beta[i + 1]!)]));
    expect(fitted).toEqual(
      Object.fromEntries(names.map((n) => [n, Math.sign(STROKE_MODEL.coefficients[n])])),
    );
  });

  it('sends about a fifth of people to more than one hospital', () => {
    const multi = people.filter((p) => p.sites.length > 1).length / N;
    expect(multi).toBeGreaterThan(0.17);
    expect(multi).toBeLessThan(0.23);
  });
});

describe('synthetic population: FHIR output', () => {
  let out: string;
  let again: string;
  beforeAll(async () => {
    out = await tempDir('itda-synth-');
    again = await tempDir('itda-synth-');
    await synthesize({ patients: 1500, sites: 3, seed: 7, out });
    await synthesize({ patients: 1500, sites: 3, seed: 7, out: again });
  });
  afterAll(() => {
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
    const validate = fhirValidator();
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

  it('uses SNOMED, LOINC and RxNorm codes from the Eunomia vocabulary, except the documented few', () => {
    const concepts = new Set(
      parseCsv(fs.readFileSync(path.join(EUNOMIA, 'CONCEPT.csv'), 'utf8')).map(
        (c) => `${c.vocabulary_id}|${c.concept_code}`,
      ),
    );
    const vocabularyOf: Record<string, string> = {
      [SYSTEMS.snomed]: 'SNOMED',
      [SYSTEMS.loinc]: 'LOINC',
      [SYSTEMS.rxnorm]: 'RxNorm',
    };
    const missing = new Set<string>();
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === 'object') {
        const v = value as { system?: string; code?: string };
        if (
          v.system &&
          v.code &&
          vocabularyOf[v.system] &&
          !concepts.has(`${vocabularyOf[v.system]}|${v.code}`)
        ) {
          missing.add(`${vocabularyOf[v.system]} ${v.code}`);
        }
        Object.values(value).forEach(collect);
      }
    };
    for (const type of RESOURCE_TYPES)
      readNdjson(path.join(out, 'site-1', `${type}.ndjson`)).forEach(collect);
    expect([...missing].sort()).toEqual(
      [
        'LOINC 11506-3',
        'LOINC 11529-5',
        'LOINC 40443-4',
        'LOINC 55423-8',
        'LOINC 8636-3',
        'LOINC 8884-9',
        'LOINC 93832-4',
        'SNOMED 816077007',
        'SNOMED 12738006',
        'SNOMED 51185008',
        'SNOMED 266919005',
      ].sort(),
    );
  });

  it('refuses bad options with a message naming the option', async () => {
    await expect(synthesize({ patients: 0, sites: 3, seed: 1, out })).rejects.toThrow(/--patients/);
    await expect(
      synthesize({ patients: 5, sites: 3, seed: 1, out, start: '2015-13-45' }),
    ).rejects.toBeInstanceOf(ItdaError);
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
