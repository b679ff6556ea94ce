/**
 * One synthetic person's ground truth: who they are, which hospitals they use, what
 * they have and when. Everything is drawn from the person's own random stream, so a
 * person is the same whatever else is generated.
 */
import type { DiagnosisKey } from './codes.ts';
import { isoDay, toDay } from './dates.ts';
import { insuranceDigits, phoneDigits, rrnSerial } from './ids.ts';
import {
  type Address,
  makeInsuranceNumber,
  makePhone,
  makeRrn,
  type Sex,
  sampleAddress,
  sampleAgeSex,
  sampleName,
} from './korea.ts';
import {
  ANTICOAGULATED_SHARE,
  annualMortality,
  bandValue,
  HOSPITALS_PER_PERSON,
  LUNG_CANCER,
  PREVALENCE,
  SMOKER_LUNG_CANCER_RR,
  SMOKING_SHARE,
  STROKE_MODEL,
  type StrokeFeatures,
  strokeLogit,
  WEARABLE_SHARE,
} from './model.ts';
import { logistic, Random } from './random.ts';

export interface Period {
  startDay: number;
  endDay: number;
}

export interface StrokeOutcome {
  indexDate: string;
  features: StrokeFeatures;
  /** Probability under the generating model. */
  risk: number;
  stroke: boolean;
}

export interface Person {
  index: number;
  personId: string;
  sex: Sex;
  birthDay: number;
  ageAtEnd: number;
  name: { family: string; given: string };
  rrn: string;
  phone: string;
  address: Address;
  insuranceNumber: string;
  smoker: boolean;
  heightCm: number;
  weightKg: number;
  /** Onset day of each condition the person has. */
  conditions: Partial<Record<DiagnosisKey, number>>;
  anticoagulated: boolean;
  strokeModel: StrokeOutcome | undefined;
  deathDay: number | undefined;
  wearable: boolean;
  /** 1-based site numbers, the first one the person's main hospital. */
  sites: number[];
}

/** The random stream of one person (and, with a suffixed seed, of their records). */
export function personRandom(seed: string | number, index: number): Random {
  return new Random(`${seed}:person:${index}`);
}

function chooseSites(random: Random, siteCount: number): number[] {
  const wanted = random.weighted(
    [1, 2, 3],
    [HOSPITALS_PER_PERSON.one, HOSPITALS_PER_PERSON.two, HOSPITALS_PER_PERSON.three],
  );
  const count = Math.min(wanted, siteCount);
  const sites: number[] = [];
  while (sites.length < count) {
    const s = random.int(1, siteCount);
    if (!sites.includes(s)) sites.push(s);
  }
  return sites;
}

/** Onset drawn uniformly from when the condition becomes plausible to the end of the period. */
function onsetDay(random: Random, birthDay: number, minAge: number, period: Period, lastDay: number): number {
  const earliest = Math.max(birthDay + Math.round(minAge * 365.25), period.startDay - 8 * 365);
  return earliest >= lastDay ? lastDay : random.int(earliest, lastDay);
}

/**
 * One person's ground truth — demographics, identifiers, conditions with onset days,
 * stroke outcome, hospitals — from their own random stream: the same (seed, index)
 * always gives the same person, whatever else is generated.
 */
export function generatePerson(
  seed: string | number,
  index: number,
  siteCount: number,
  period: Period,
): Person {
  const random = personRandom(seed, index);
  const { age, sex } = sampleAgeSex(random);
  const birthDay = period.endDay - Math.round(age * 365.25) - random.int(0, 364);
  const birthDate = isoDay(birthDay);
  const adult = age >= 19;
  const smoker = adult && random.chance(SMOKING_SHARE[sex]);
  const heightCm = Math.round((sex === 'male' ? random.normal(172, 6) : random.normal(159, 5.5)) * 10) / 10;
  const bmi = Math.max(16, random.normal(24, 3.3));
  const weightKg = Math.round(bmi * (heightCm / 100) ** 2 * 10) / 10;

  // Death: yearly hazard by age over the period.
  let deathDay: number | undefined;
  for (let day = period.startDay; day < period.endDay && deathDay === undefined; day += 365) {
    const ageThen = (day - birthDay) / 365.25;
    if (ageThen >= 0 && random.chance(annualMortality(ageThen)))
      deathDay = Math.min(period.endDay, day + random.int(0, 364));
  }
  const lastDay = deathDay ?? period.endDay;

  const conditions: Partial<Record<DiagnosisKey, number>> = {};
  const minAges: Record<string, number> = {
    hypertension: 20,
    diabetes: 25,
    atrialFibrillation: 35,
    dementia: 55,
    ckd: 30,
  };
  for (const [key, bands] of Object.entries(PREVALENCE)) {
    if (random.chance(bandValue(bands, age)))
      conditions[key as DiagnosisKey] = onsetDay(random, birthDay, minAges[key]!, period, lastDay);
  }
  // Smokers carry more of the same age-specific lung cancer risk; the band total is kept.
  const share = SMOKING_SHARE[sex];
  const multiplier = (smoker ? SMOKER_LUNG_CANCER_RR : 1) / (SMOKER_LUNG_CANCER_RR * share + (1 - share));
  if (adult && random.chance(bandValue(LUNG_CANCER, age) * multiplier)) {
    conditions.lungCancer = onsetDay(
      random,
      birthDay,
      40,
      { startDay: period.startDay + 8 * 365, endDay: period.endDay },
      lastDay,
    );
  }
  const anticoagulated = conditions.atrialFibrillation !== undefined && random.chance(ANTICOAGULATED_SHARE);

  // Stroke within two years of a fixed index date, for people alive and old enough then.
  let strokeModel: StrokeOutcome | undefined;
  const indexDay = period.endDay - STROKE_MODEL.horizonDays;
  const ageAtIndex = (indexDay - birthDay) / 365.25;
  if (ageAtIndex >= STROKE_MODEL.minAge && (deathDay === undefined || deathDay > indexDay)) {
    const had = (key: DiagnosisKey) =>
      conditions[key] !== undefined && conditions[key]! <= indexDay ? 1 : 0;
    const features: StrokeFeatures = {
      ageDecadesFrom65: (ageAtIndex - 65) / 10,
      male: sex === 'male' ? 1 : 0,
      atrialFibrillation: had('atrialFibrillation'),
      hypertension: had('hypertension'),
      diabetes: had('diabetes'),
      anticoagulant: had('atrialFibrillation') && anticoagulated ? 1 : 0,
    };
    const risk = logistic(strokeLogit(features));
    const stroke = random.chance(risk);
    strokeModel = { indexDate: isoDay(indexDay), features, risk, stroke };
    if (stroke)
      conditions.stroke = random.int(indexDay + 1, Math.min(lastDay, indexDay + STROKE_MODEL.horizonDays));
  }

  return {
    index,
    personId: `P${String(index + 1).padStart(7, '0')}`,
    sex,
    birthDay,
    ageAtEnd: age,
    name: sampleName(random, sex),
    rrn: makeRrn(birthDate, sex, rrnSerial(seed, index)),
    phone: makePhone(phoneDigits(seed, index)),
    address: sampleAddress(random),
    insuranceNumber: makeInsuranceNumber(random, insuranceDigits(seed, index)),
    smoker,
    heightCm,
    weightKg,
    conditions,
    anticoagulated,
    strokeModel,
    deathDay,
    wearable: age >= 20 && age < 75 && random.chance(WEARABLE_SHARE),
    sites: chooseSites(random, siteCount),
  };
}

/** The study period from ISO dates. */
export function periodOf(start: string, end: string): Period {
  return { startDay: toDay(start), endDay: toDay(end) };
}
