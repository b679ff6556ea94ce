/**
 * A person's record as each of their hospitals holds it, in FHIR R4 resources
 * (http://hl7.org/fhir/R4). The same person gets different local ids at each hospital.
 */
import {
  DIAGNOSES,
  type DiagnosisKey,
  DRUGS,
  type DrugCode,
  LABS,
  type LabCode,
  NOTE_TYPES,
  PROCEDURES,
  SYSTEMS,
} from './codes.ts';
import { isoDateTime, isoDay } from './dates.ts';
import { localPatientId, localPatientNumber, siteCode } from './ids.ts';
import { type PlantedPii, pathologyText, progressNote } from './notes.ts';
import type { Period, Person } from './person.ts';
import { personRandom } from './person.ts';
import type { Random } from './random.ts';

export const RESOURCE_TYPES = [
  'Patient',
  'Encounter',
  'Condition',
  'Observation',
  'MedicationRequest',
  'Procedure',
  'ImagingStudy',
  'DiagnosticReport',
  'DocumentReference',
  'Organization',
  'Practitioner',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export type Resource = { resourceType: ResourceType; id: string } & Record<string, unknown>;

export interface SiteRecord {
  site: number;
  patientId: string;
  patientNumber: string;
}

export interface Emitter {
  resource(site: number, resource: Resource): void;
  planted(site: number, pii: PlantedPii & { resourceId: string; patientId: string }): void;
}

export const PRACTITIONERS_PER_SITE = 12;

const ref = (type: string, id: string) => ({ reference: `${type}/${id}` });
const quantity = (value: number, unit: string) => ({ value, unit, system: SYSTEMS.ucum, code: unit });
const round1 = (v: number) => Math.round(v * 10) / 10;

/** `Organization.id` of a hospital (FHIR R4 id: http://hl7.org/fhir/R4/datatypes.html#id). */
export function organizationId(site: number): string {
  return `org-site-${siteCode(site)}`;
}

/** `Practitioner.id` of a hospital's n-th clinician. */
export function practitionerId(site: number, n: number): string {
  return `pr-${siteCode(site)}-${String(n).padStart(3, '0')}`;
}

interface Encounter {
  day: number;
  site: number;
  kind: 'AMB' | 'EMER' | 'IMP';
  lengthDays: number;
  reason?: 'stroke' | 'lungCancer' | 'lungCancerFollowUp';
}

/** Visits over the period: more for people with more active chronic conditions. */
function encounterTimeline(random: Random, person: Person, period: Period): Encounter[] {
  const first = Math.max(period.startDay, person.birthDay);
  const last = person.deathDay ?? period.endDay;
  const [home, ...others] = person.sites;
  const pickSite = () => (others.length && random.chance(0.3) ? random.pick(others) : home!);
  const encounters: Encounter[] = [];
  for (let yearStart = first; yearStart < last; yearStart += 365) {
    const mid = yearStart + 182;
    let active = 0;
    for (const [key, onset] of Object.entries(person.conditions))
      if (key !== 'stroke' && onset <= mid) active++;
    const visits = random.poisson(0.6 + 1.2 * active);
    for (let v = 0; v < visits; v++) {
      const day = random.int(yearStart, Math.min(last, yearStart + 364));
      encounters.push({ day, site: pickSite(), kind: random.chance(0.04) ? 'EMER' : 'AMB', lengthDays: 0 });
    }
  }
  if (person.conditions.stroke !== undefined) {
    encounters.push({
      day: person.conditions.stroke,
      site: home!,
      kind: 'EMER',
      lengthDays: 0,
      reason: 'stroke',
    });
    encounters.push({
      day: person.conditions.stroke,
      site: home!,
      kind: 'IMP',
      lengthDays: random.int(5, 14),
      reason: 'stroke',
    });
  }
  if (person.conditions.lungCancer !== undefined) {
    const dx = person.conditions.lungCancer;
    encounters.push({ day: dx, site: home!, kind: 'AMB', lengthDays: 0, reason: 'lungCancer' });
    for (let d = dx + 180; d <= last && d < dx + 6 * 180; d += 180) {
      encounters.push({ day: d, site: home!, kind: 'AMB', lengthDays: 0, reason: 'lungCancerFollowUp' });
    }
  }
  // Everyone is known at each of their hospitals through at least one visit.
  for (const site of person.sites) {
    if (!encounters.some((e) => e.site === site)) {
      encounters.push({ day: random.int(first, Math.max(first, last)), site, kind: 'AMB', lengthDays: 0 });
    }
  }
  return encounters.sort((a, b) => a.day - b.day || a.site - b.site);
}

/** Person-level levels and slopes, so each measurement follows its own course over visits. */
function clinicalCourse(random: Random) {
  return {
    bpOffset: random.normal(0, 7),
    hba1cAtOnset: random.normal(7, 0.6),
    hba1cPerYear: Math.max(0, random.normal(0.12, 0.06)),
    egfrAtOnset: random.normal(54, 3),
    egfrDeclinePerYear: Math.max(0.5, random.normal(2.5, 1)),
    egfrBaseline: random.normal(100, 8),
    mmseAtOnset: random.normal(24, 1.5),
    mmseDeclinePerYear: Math.max(0.5, random.normal(2.5, 0.8)),
    restingHeartRate: random.normal(66, 5),
  };
}

/**
 * Emits everything each hospital holds about the person as FHIR R4 resources
 * (http://hl7.org/fhir/R4/resourcelist.html): Patient, Encounter, Condition, Observation,
 * MedicationRequest, Procedure, ImagingStudy, DiagnosticReport and DocumentReference,
 * each referencing the hospital's own Patient id. Returns the person's local ids.
 */
export function emitPerson(
  person: Person,
  seed: string | number,
  period: Period,
  emit: Emitter,
): SiteRecord[] {
  // A second stream, so the clinical details never shift the ground truth.
  const random = personRandom(`${seed}:records`, person.index);
  const fullName = `${person.name.family}${person.name.given}`;
  const address = `${person.address.sido} ${person.address.sigungu} ${person.address.line}`;
  const records: SiteRecord[] = person.sites.map((site) => ({
    site,
    patientId: localPatientId(seed, site, person.index),
    patientNumber: localPatientNumber(seed, site, person.index),
  }));
  const bySite = new Map(records.map((r) => [r.site, r]));
  const course = clinicalCourse(random);
  let onInsulin = false;

  for (const record of records) {
    emit.resource(record.site, {
      resourceType: 'Patient',
      id: record.patientId,
      identifier: [
        {
          use: 'usual',
          type: { coding: [{ system: SYSTEMS.identifierType, code: 'MR' }], text: '환자번호' },
          system: `http://itda.dev/fhir/sid/site-${record.site}/patient-number`,
          value: record.patientNumber,
        },
        { use: 'official', system: SYSTEMS.rrn, value: person.rrn },
        { use: 'secondary', system: SYSTEMS.insurance, value: person.insuranceNumber },
      ],
      active: true,
      name: [{ use: 'official', text: fullName, family: person.name.family, given: [person.name.given] }],
      telecom: [{ system: 'phone', value: person.phone, use: 'mobile' }],
      gender: person.sex,
      birthDate: isoDay(person.birthDay),
      ...(person.deathDay !== undefined ? { deceasedDateTime: isoDateTime(person.deathDay, 600) } : {}),
      address: [
        {
          use: 'home',
          type: 'physical',
          text: address,
          line: [person.address.line],
          city: person.address.sigungu,
          state: person.address.sido,
          postalCode: person.address.postalCode,
          country: 'KR',
        },
      ],
      managingOrganization: ref('Organization', organizationId(record.site)),
    });
  }

  const counters = new Map<string, number>();
  // Fixed-width ids: the patient's local id, then a 5-digit running number per type.
  const nextId = (prefix: string, site: number) => {
    const key = `${prefix}${site}`;
    const n = (counters.get(key) ?? 0) + 1;
    counters.set(key, n);
    return `${prefix}-${bySite.get(site)!.patientId.slice(3)}-${String(n).padStart(5, '0')}`;
  };
  const recordedConditions = new Set<string>();

  for (const encounter of encounterTimeline(random, person, period)) {
    const { site, day } = encounter;
    const record = bySite.get(site)!;
    const patient = ref('Patient', record.patientId);
    const practitioner = ref('Practitioner', practitionerId(site, random.int(1, PRACTITIONERS_PER_SITE)));
    const encounterId = nextId('enc', site);
    const encounterRef = ref('Encounter', encounterId);
    const startMinute = random.int(9 * 60, 17 * 60);
    const start = isoDateTime(day, startMinute);
    const date = isoDay(day);
    emit.resource(site, {
      resourceType: 'Encounter',
      id: encounterId,
      status: 'finished',
      class: {
        system: SYSTEMS.actCode,
        code: encounter.kind,
        display: { AMB: 'ambulatory', EMER: 'emergency', IMP: 'inpatient encounter' }[encounter.kind],
      },
      subject: patient,
      participant: [{ individual: practitioner }],
      period: {
        start,
        end: isoDateTime(day + encounter.lengthDays, Math.min(startMinute + 30, 23 * 60)),
      },
      serviceProvider: ref('Organization', organizationId(site)),
    });

    const observation = (lab: LabCode, value: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      emit.resource(site, {
        resourceType: 'Observation',
        id: nextId('obs', site),
        status: 'final',
        category: [{ coding: [{ system: SYSTEMS.observationCategory, code: lab.category }] }],
        code: {
          coding: [{ system: SYSTEMS.loinc, code: lab.loinc, display: lab.display }],
          text: lab.display,
        },
        subject: patient,
        encounter: encounterRef,
        effectiveDateTime: start,
        ...value,
        ...extra,
      });
    const prescribe = (drug: DrugCode, days: number) =>
      emit.resource(site, {
        resourceType: 'MedicationRequest',
        id: nextId('med', site),
        status: day + days < (person.deathDay ?? period.endDay) ? 'completed' : 'active',
        intent: 'order',
        medicationCodeableConcept: {
          coding: [
            { system: SYSTEMS.rxnorm, code: drug.rxnorm, display: drug.display },
            { system: SYSTEMS.atc, code: drug.atc, display: drug.atcDisplay },
          ],
          text: drug.display,
        },
        subject: patient,
        encounter: encounterRef,
        authoredOn: start,
        requester: practitioner,
        dosageInstruction: [{ text: drug.dosageText }],
        dispenseRequest: {
          expectedSupplyDuration: { value: days, unit: 'days', system: SYSTEMS.ucum, code: 'd' },
        },
      });
    const procedure = (code: { snomed: string; display: string }) =>
      emit.resource(site, {
        resourceType: 'Procedure',
        id: nextId('proc', site),
        status: 'completed',
        code: {
          coding: [{ system: SYSTEMS.snomed, code: code.snomed, display: code.display }],
          text: code.display,
        },
        subject: patient,
        encounter: encounterRef,
        performedDateTime: start,
      });
    const imaging = (study: (typeof PROCEDURES)['chestCt' | 'brainMri']) => {
      // A 2.25 OID's arc is an integer, so no leading zero.
      const uid = `2.25.${random.int(1, 9)}${random.digits(19)}`;
      const instances = random.int(40, 300);
      emit.resource(site, {
        resourceType: 'ImagingStudy',
        id: nextId('img', site),
        identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }],
        status: 'available',
        modality: [{ system: SYSTEMS.dicom, code: study.modality }],
        subject: patient,
        encounter: encounterRef,
        started: start,
        numberOfSeries: 1,
        numberOfInstances: instances,
        procedureCode: [{ coding: [{ system: SYSTEMS.snomed, code: study.snomed, display: study.display }] }],
        series: [
          {
            uid: `${uid}.1`,
            number: 1,
            modality: { system: SYSTEMS.dicom, code: study.modality },
            numberOfInstances: instances,
            bodySite: { system: SYSTEMS.snomed, code: study.bodySite },
          },
        ],
      });
    };

    // Diagnoses a hospital records the first time it sees the person with them.
    const active = (Object.keys(person.conditions) as DiagnosisKey[]).filter(
      (k) => person.conditions[k]! <= day,
    );
    for (const key of active) {
      if (recordedConditions.has(`${site}:${key}`)) continue;
      recordedConditions.add(`${site}:${key}`);
      const dx = DIAGNOSES[key];
      emit.resource(site, {
        resourceType: 'Condition',
        id: nextId('cond', site),
        clinicalStatus: { coding: [{ system: SYSTEMS.conditionClinical, code: 'active' }] },
        category: [{ coding: [{ system: SYSTEMS.conditionCategory, code: 'encounter-diagnosis' }] }],
        code: {
          coding: [
            { system: SYSTEMS.kcd7, code: dx.kcd7, display: dx.kcd7Display },
            { system: SYSTEMS.snomed, code: dx.snomed, display: dx.snomedDisplay },
          ],
          text: dx.kcd7Display,
        },
        subject: patient,
        encounter: encounterRef,
        onsetDateTime: isoDateTime(person.conditions[key]!, 540),
        recordedDate: start,
      });
    }
    const has = (key: DiagnosisKey) => active.includes(key);
    const ageYears = (day - person.birthDay) / 365.25;

    let systolic: number | undefined;
    let diastolic: number | undefined;
    if (ageYears >= 15) {
      systolic = Math.round(random.normal((has('hypertension') ? 142 : 121) + course.bpOffset, 9));
      diastolic = Math.round(random.normal((has('hypertension') ? 88 : 77) + course.bpOffset / 2, 6));
      observation(LABS.bloodPressurePanel, {
        component: [
          {
            code: {
              coding: [{ system: SYSTEMS.loinc, code: LABS.systolic.loinc, display: LABS.systolic.display }],
            },
            valueQuantity: quantity(systolic, LABS.systolic.unit),
          },
          {
            code: {
              coding: [
                { system: SYSTEMS.loinc, code: LABS.diastolic.loinc, display: LABS.diastolic.display },
              ],
            },
            valueQuantity: quantity(diastolic, LABS.diastolic.unit),
          },
        ],
      });
      observation(LABS.heartRate, {
        valueQuantity: quantity(
          Math.round(random.normal(has('atrialFibrillation') ? 92 : 74, 9)),
          LABS.heartRate.unit,
        ),
      });
      if (random.chance(0.3))
        observation(LABS.bodyWeight, {
          valueQuantity: quantity(round1(person.weightKg + random.normal(0, 1.2)), LABS.bodyWeight.unit),
        });
      if (random.chance(0.1))
        observation(LABS.bodyHeight, { valueQuantity: quantity(person.heightCm, LABS.bodyHeight.unit) });
    }
    if (!recordedConditions.has(`${site}:smoking`) && ageYears >= 19) {
      recordedConditions.add(`${site}:smoking`);
      observation(LABS.smoking, {
        valueCodeableConcept: {
          coding: [
            person.smoker
              ? { system: SYSTEMS.snomed, code: '449868002', display: 'Smokes tobacco daily' }
              : { system: SYSTEMS.snomed, code: '266919005', display: 'Never smoked tobacco' },
          ],
        },
      });
    }
    if (has('hypertension')) prescribe(random.chance(0.6) ? DRUGS.amlodipine : DRUGS.lisinopril, 90);
    if (has('diabetes')) {
      // HbA1c drifts up from the person's level at diagnosis; insulin, once started, stays.
      const years = (day - person.conditions.diabetes!) / 365.25;
      const hba1c = round1(
        Math.max(5.7, course.hba1cAtOnset + course.hba1cPerYear * years + random.normal(0, 0.3)),
      );
      observation(LABS.hba1c, { valueQuantity: quantity(hba1c, LABS.hba1c.unit) });
      // Fasting glucose tracks HbA1c (ADAG: mean glucose = 28.7 × HbA1c − 46.7 mg/dL).
      observation(LABS.glucose, {
        valueQuantity: quantity(
          Math.max(70, Math.round(random.normal(28.7 * hba1c - 46.7 - 10, 10))),
          LABS.glucose.unit,
        ),
      });
      prescribe(DRUGS.metformin, 90);
      if (hba1c >= 9) onInsulin = true;
      if (onInsulin) prescribe(DRUGS.insulin, 30);
    }
    if (has('ckd') || (has('diabetes') && random.chance(0.3))) {
      // CKD: eGFR starts below 60 at onset and falls a few mL/min each year; otherwise it
      // declines slowly with age and stays at 60 or above.
      const egfr = Math.round(
        has('ckd')
          ? Math.min(
              59,
              Math.max(
                8,
                course.egfrAtOnset -
                  (course.egfrDeclinePerYear * (day - person.conditions.ckd!)) / 365.25 +
                  random.normal(0, 2.5),
              ),
            )
          : Math.max(60, course.egfrBaseline - 0.8 * Math.max(0, ageYears - 40) + random.normal(0, 4)),
      );
      observation(LABS.creatinine, {
        valueQuantity: quantity(
          round1(Math.max(0.4, (person.sex === 'female' ? 0.9 : 1.15) * (90 / egfr) ** 0.9)),
          LABS.creatinine.unit,
        ),
      });
      observation(LABS.egfr, { valueQuantity: quantity(egfr, LABS.egfr.unit) });
    }
    if (has('atrialFibrillation') && random.chance(0.5)) {
      procedure(PROCEDURES.ecg);
      observation(LABS.qtc, { valueQuantity: quantity(Math.round(random.normal(440, 25)), LABS.qtc.unit) });
      observation(LABS.rhythm, {
        valueCodeableConcept: {
          coding: [{ system: SYSTEMS.snomed, code: '49436004', display: 'Atrial fibrillation' }],
        },
      });
    }
    if (has('atrialFibrillation') && person.anticoagulated) prescribe(DRUGS.warfarin, 90);
    if (has('stroke') && encounter.kind !== 'EMER') prescribe(DRUGS.clopidogrel, 90);
    if (has('dementia') && random.chance(0.4)) {
      const years = (day - person.conditions.dementia!) / 365.25;
      const mmse = course.mmseAtOnset - course.mmseDeclinePerYear * years + random.normal(0, 1.5);
      observation(LABS.mmse, {
        valueQuantity: quantity(Math.min(30, Math.max(0, Math.round(mmse))), LABS.mmse.unit),
      });
    }
    if (encounter.reason === 'stroke' && encounter.kind === 'IMP') imaging(PROCEDURES.brainMri);
    if (encounter.reason === 'lungCancer' || encounter.reason === 'lungCancerFollowUp')
      imaging(PROCEDURES.chestCt);
    if (encounter.reason === 'lungCancer') {
      procedure(PROCEDURES.lungBiopsy);
      emit.resource(site, {
        resourceType: 'DiagnosticReport',
        id: nextId('rep', site),
        status: 'final',
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'PAT', display: 'Pathology' },
            ],
          },
        ],
        code: {
          coding: [
            {
              system: SYSTEMS.loinc,
              code: NOTE_TYPES.pathology.loinc,
              display: NOTE_TYPES.pathology.display,
            },
          ],
        },
        subject: patient,
        encounter: encounterRef,
        effectiveDateTime: start,
        issued: `${isoDay(day + 3)}T10:00:00+09:00`,
        performer: [practitioner],
        conclusion: pathologyText(random, date),
        conclusionCode: [
          {
            coding: [
              {
                system: SYSTEMS.snomed,
                code: DIAGNOSES.lungCancer.snomed,
                display: DIAGNOSES.lungCancer.snomedDisplay,
              },
            ],
          },
        ],
      });
    }
    if (random.chance(0.3) || encounter.reason !== undefined) {
      const note = progressNote(
        random,
        { fullName, rrn: person.rrn, phone: person.phone, address, patientNumber: record.patientNumber },
        { date, conditions: active, ...(systolic !== undefined ? { systolic, diastolic } : {}) },
      );
      const noteId = nextId('doc', site);
      emit.resource(site, {
        resourceType: 'DocumentReference',
        id: noteId,
        status: 'current',
        type: {
          coding: [
            { system: SYSTEMS.loinc, code: NOTE_TYPES.progress.loinc, display: NOTE_TYPES.progress.display },
          ],
        },
        subject: patient,
        date: `${date}T18:00:00+09:00`,
        author: [practitioner],
        content: [
          {
            attachment: {
              contentType: 'text/plain; charset=utf-8',
              language: 'ko',
              data: Buffer.from(note.text, 'utf8').toString('base64'),
              title: '경과기록',
            },
          },
        ],
        context: { encounter: [encounterRef], period: { start } },
      });
      for (const pii of note.planted)
        emit.planted(site, { ...pii, resourceId: noteId, patientId: record.patientId });
    }
  }

  if (person.wearable) {
    const home = records[0]!;
    const last = person.deathDay ?? period.endDay;
    const firstDay = Math.max(person.birthDay, last - 60 - random.int(0, 365));
    const patient = ref('Patient', home.patientId);
    const daily = (lab: LabCode, value: number, day: number) =>
      emit.resource(home.site, {
        resourceType: 'Observation',
        id: nextId('wear', home.site),
        status: 'final',
        category: [{ coding: [{ system: SYSTEMS.observationCategory, code: lab.category }] }],
        code: {
          coding: [{ system: SYSTEMS.loinc, code: lab.loinc, display: lab.display }],
          text: lab.display,
        },
        subject: patient,
        effectiveDateTime: isoDateTime(day, 23 * 60 + 59),
        valueQuantity: quantity(value, lab.unit),
        device: { display: 'wearable' },
      });
    // Each wearer has their own level; weekends (1970-01-01 was a Thursday) walk less and
    // sleep longer; atrial fibrillation raises the resting rate.
    const baseSteps = Math.max(1500, random.normal(7500, 2200));
    const baseSleep = random.normal(6.6, 0.6);
    const baseRestingHr =
      course.restingHeartRate + (person.conditions.atrialFibrillation !== undefined ? 8 : 0);
    for (let d = firstDay; d < firstDay + 60 && d <= last; d++) {
      const weekend = (d + 4) % 7 >= 5;
      daily(LABS.steps, Math.max(200, Math.round(random.normal(baseSteps * (weekend ? 0.8 : 1), 1500))), d);
      daily(LABS.restingHeartRate, Math.round(random.normal(baseRestingHr, 2.5)), d);
      daily(
        LABS.sleepDuration,
        round1(Math.min(11, Math.max(3, random.normal(baseSleep + (weekend ? 0.6 : 0), 0.7)))),
        d,
      );
    }
  }
  return records;
}

/**
 * The hospital itself and its clinicians, once per site: one FHIR R4 `Organization`
 * (http://hl7.org/fhir/R4/organization.html) and its `Practitioner`s
 * (http://hl7.org/fhir/R4/practitioner.html), which every encounter and order references.
 */
export function emitSiteDirectory(
  site: number,
  seed: string | number,
  emit: Emitter,
  name: string,
  address: string,
): void {
  emit.resource(site, {
    resourceType: 'Organization',
    id: organizationId(site),
    identifier: [
      { system: 'http://itda.dev/fhir/sid/kr-hira-institution', value: `${10000000 + site * 1111}` },
    ],
    active: true,
    type: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/organization-type',
            code: 'prov',
            display: 'Healthcare Provider',
          },
        ],
      },
    ],
    name,
    address: [{ text: address, country: 'KR' }],
  });
  const random = personRandom(`${seed}:site`, site);
  for (let n = 1; n <= PRACTITIONERS_PER_SITE; n++) {
    const sex = random.chance(0.5) ? 'male' : 'female';
    const family = random.pick(['김', '이', '박', '최', '정', '강', '조', '윤']);
    const given = random.pick(['민수', '지현', '서연', '준호', '현우', '수빈', '영희', '성민']);
    emit.resource(site, {
      resourceType: 'Practitioner',
      id: practitionerId(site, n),
      identifier: [{ system: 'http://itda.dev/fhir/sid/kr-medical-license', value: random.digits(6) }],
      active: true,
      name: [{ text: `${family}${given}`, family, given: [given] }],
      gender: sex,
    });
  }
}
