/**
 * `itda synth`: writes a synthetic Korean population as FHIR R4 Bulk Data NDJSON, one
 * folder per hospital, plus the ground truth (not for sites). Streaming: one person at a
 * time, buffered writes, so memory stays flat however many people are generated.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ItdaError } from '../protocol/errors.ts';
import { DIAGNOSES, MISSING_FROM_EUNOMIA, NON_STANDARD_IN_EUNOMIA } from './codes.ts';
import { isoDay, toDay } from './dates.ts';
import { type Emitter, emitPerson, emitSiteDirectory, RESOURCE_TYPES, type Resource } from './fhir.ts';
import { POPULATION_2023, REGIONS } from './korea.ts';
import {
  ANTICOAGULATED_SHARE,
  HOSPITALS_PER_PERSON,
  LUNG_CANCER,
  PREVALENCE,
  SMOKER_LUNG_CANCER_RR,
  SMOKING_SHARE,
  STROKE_MODEL,
  WEARABLE_SHARE,
} from './model.ts';
import { generatePerson, periodOf } from './person.ts';

export interface SynthOptions {
  patients: number;
  sites: number;
  seed: string | number;
  out: string;
  start?: string;
  end?: string;
}

export interface SynthSummary {
  patients: number;
  sites: number;
  resources: number;
  resourcesByType: Record<string, number>;
  plantedPii: number;
  multiSitePersons: number;
}

const FLUSH_BYTES = 1 << 20;

/** Person ids are P + 7 digits. */
export const MAX_PATIENTS = 9_999_999;

class BufferedFile {
  private chunks: string[] = [];
  private size = 0;
  private readonly fd: number;

  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
  }

  line(text: string): void {
    this.chunks.push(text, '\n');
    this.size += text.length + 1;
    if (this.size >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.chunks.length === 0) return;
    fs.writeSync(this.fd, this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

export const HOSPITAL_NAMES = [
  '서울하늘병원',
  '부산바다병원',
  '대전숲병원',
  '광주빛병원',
  '대구달병원',
  '인천별병원',
];

function validate(options: SynthOptions): Required<SynthOptions> {
  const start = options.start ?? '2015-01-01';
  const end = options.end ?? '2025-12-31';
  if (!Number.isInteger(options.patients) || options.patients < 1 || options.patients > MAX_PATIENTS) {
    throw new ItdaError(
      'validation_failed',
      `--patients must be a whole number from 1 to ${MAX_PATIENTS.toLocaleString('en')} (got ${options.patients})`,
    );
  }
  if (!Number.isInteger(options.sites) || options.sites < 1 || options.sites > 99) {
    throw new ItdaError(
      'validation_failed',
      `--sites must be a whole number from 1 to 99 (got ${options.sites})`,
    );
  }
  for (const [name, value] of [
    ['--start', start],
    ['--end', end],
  ] as const) {
    // Round-trip through a day number so impossible dates (2020-02-31) are refused too.
    if (
      !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
      Number.isNaN(Date.parse(value)) ||
      isoDay(toDay(value)) !== value
    ) {
      throw new ItdaError('validation_failed', `${name} must be a date YYYY-MM-DD (got ${value})`);
    }
  }
  if (Date.parse(end) - Date.parse(start) < 3 * 365 * 86_400_000) {
    throw new ItdaError(
      'validation_failed',
      `--end must be at least three years after --start (got ${start} to ${end})`,
    );
  }
  return { ...options, start, end };
}

/** The generating model, written to truth/model.json. */
export function modelDescription(options: Required<SynthOptions>) {
  return {
    generator: 'itda synth',
    seed: String(options.seed),
    patients: options.patients,
    sites: options.sites,
    period: { start: options.start, end: options.end },
    populationPyramid2023: POPULATION_2023,
    regions: REGIONS.map((r) => ({ sido: r.sido, weight: r.weight })),
    prevalenceByAge: { ...PREVALENCE, lungCancer: LUNG_CANCER },
    smokingShare: SMOKING_SHARE,
    smokerLungCancerRelativeRisk: SMOKER_LUNG_CANCER_RR,
    anticoagulatedShare: ANTICOAGULATED_SHARE,
    hospitalsPerPerson: HOSPITALS_PER_PERSON,
    wearableShare: WEARABLE_SHARE,
    strokeModel: STROKE_MODEL,
    diagnoses: DIAGNOSES,
    codesMissingFromEunomia: MISSING_FROM_EUNOMIA,
    codesNonStandardInEunomia: NON_STANDARD_IN_EUNOMIA,
  };
}

/**
 * Generates the population as FHIR R4 Bulk Data export files — one NDJSON file per
 * resource type and hospital, one resource per line
 * (https://hl7.org/fhir/uv/bulkdata/STU1/export.html#file-format) — plus `truth/`.
 * Person by person, written as it goes, so memory does not grow with `patients`.
 * `onProgress` is called with the number of people done. Same options and seed ⇒
 * byte-identical files.
 */
export async function synthesize(
  input: SynthOptions,
  hooks: { onProgress?: (done: number, resources: number) => void } = {},
): Promise<SynthSummary> {
  const options = validate(input);
  const period = periodOf(options.start, options.end);
  const truthDir = path.join(options.out, 'truth');
  fs.mkdirSync(truthDir, { recursive: true });
  const files = new Map<string, BufferedFile>();
  const resourcesByType: Record<string, number> = Object.fromEntries(RESOURCE_TYPES.map((t) => [t, 0]));
  for (let site = 1; site <= options.sites; site++) {
    const dir = path.join(options.out, `site-${site}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const type of RESOURCE_TYPES)
      files.set(`${site}/${type}`, new BufferedFile(path.join(dir, `${type}.ndjson`)));
  }
  const persons = new BufferedFile(path.join(truthDir, 'persons.ndjson'));
  const pii = new BufferedFile(path.join(truthDir, 'pii.ndjson'));
  let resources = 0;
  let planted = 0;
  let multiSite = 0;
  const emitter: Emitter = {
    resource(site: number, resource: Resource) {
      files.get(`${site}/${resource.resourceType}`)!.line(JSON.stringify(resource));
      resourcesByType[resource.resourceType]! += 1;
      resources++;
    },
    planted(site, item) {
      pii.line(JSON.stringify({ site: `site-${site}`, ...item }));
      planted++;
    },
  };
  try {
    for (let site = 1; site <= options.sites; site++) {
      const name = HOSPITAL_NAMES[(site - 1) % HOSPITAL_NAMES.length]!;
      emitSiteDirectory(
        site,
        options.seed,
        emitter,
        site > HOSPITAL_NAMES.length ? `${name} ${site}` : name,
        REGIONS[site % REGIONS.length]!.sido,
      );
    }
    for (let index = 0; index < options.patients; index++) {
      const person = generatePerson(options.seed, index, options.sites, period);
      const records = emitPerson(person, options.seed, period, emitter);
      if (records.length > 1) multiSite++;
      persons.line(
        JSON.stringify({
          personId: person.personId,
          sex: person.sex,
          birthDate: isoDay(person.birthDay),
          ageAtEnd: person.ageAtEnd,
          name: `${person.name.family}${person.name.given}`,
          rrn: person.rrn,
          phone: person.phone,
          insuranceNumber: person.insuranceNumber,
          address: person.address,
          smoker: person.smoker,
          conditions: Object.fromEntries(Object.entries(person.conditions).map(([k, d]) => [k, isoDay(d)])),
          anticoagulated: person.anticoagulated,
          deathDate: person.deathDay === undefined ? null : isoDay(person.deathDay),
          wearable: person.wearable,
          strokeModel: person.strokeModel ?? null,
          sites: records.map((r) => ({
            site: `site-${r.site}`,
            patientId: r.patientId,
            patientNumber: r.patientNumber,
          })),
        }),
      );
      if (hooks.onProgress && (index % 100 === 99 || index === options.patients - 1))
        hooks.onProgress(index + 1, resources);
      // Let timers and signals run between chunks of work on a long generation.
      if (index % 2000 === 1999) await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    for (const file of files.values()) file.close();
    persons.close();
    pii.close();
  }
  const summary: SynthSummary = {
    patients: options.patients,
    sites: options.sites,
    resources,
    resourcesByType,
    plantedPii: planted,
    multiSitePersons: multiSite,
  };
  fs.writeFileSync(
    path.join(truthDir, 'model.json'),
    `${JSON.stringify({ ...modelDescription(options), summary }, null, 2)}\n`,
  );
  return summary;
}
