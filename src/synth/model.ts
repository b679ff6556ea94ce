/**
 * The generating model: age-specific prevalences of each clinical module and the stroke
 * risk model whose coefficients a learner should recover. Targets and sources are listed
 * in README.md; tests check the generated population against them.
 */
import type { DiagnosisKey } from './codes.ts';
import type { Sex } from './korea.ts';

/** [lower age bound, probability]: the last band whose bound ≤ age applies. */
export type AgeBands = ReadonlyArray<readonly [number, number]>;

/** Probability of having the condition by the end of the period, by age at that date. */
export const PREVALENCE: Record<Exclude<DiagnosisKey, 'stroke' | 'lungCancer'>, AgeBands> = {
  // KNHANES 2021 (질병관리청), physician-diagnosed or treated, adults by age group.
  hypertension: [
    [0, 0.01],
    [30, 0.08],
    [40, 0.18],
    [50, 0.33],
    [60, 0.47],
    [70, 0.63],
  ],
  diabetes: [
    [0, 0.003],
    [30, 0.03],
    [40, 0.08],
    [50, 0.15],
    [60, 0.25],
    [70, 0.3],
  ],
  // Korean NHIS cohort estimates of atrial fibrillation prevalence by age.
  atrialFibrillation: [
    [0, 0.003],
    [50, 0.008],
    [60, 0.02],
    [70, 0.04],
    [80, 0.06],
  ],
  // 중앙치매센터 (National Institute of Dementia) 2021 prevalence by age group.
  dementia: [
    [0, 0.001],
    [65, 0.015],
    [70, 0.04],
    [75, 0.1],
    [80, 0.21],
    [85, 0.38],
  ],
  // KNHANES eGFR < 60 mL/min/1.73 m² by age group.
  ckd: [
    [0, 0.005],
    [40, 0.015],
    [50, 0.03],
    [60, 0.07],
    [70, 0.18],
  ],
};

/** Lung cancer by the end of the period, by age (Korea Central Cancer Registry incidence × 11 years). */
export const LUNG_CANCER: AgeBands = [
  [0, 0.0001],
  [40, 0.001],
  [50, 0.004],
  [60, 0.009],
  [70, 0.014],
];

/** Relative risk of lung cancer in current smokers versus non-smokers. */
export const SMOKER_LUNG_CANCER_RR = 2.5;

/** Current smoking, adults (KNHANES 2021): men 31 %, women 6 %. */
export const SMOKING_SHARE: Record<Sex, number> = { male: 0.31, female: 0.06 };

/** Share of people with atrial fibrillation on an oral anticoagulant. */
export const ANTICOAGULATED_SHARE = 0.6;

/**
 * Ischaemic stroke within two years of the index date, a CHA2DS2-VASc-like logistic
 * model: logit p = intercept + Σ coefficient × feature, with age in decades from 65.
 */
export const STROKE_MODEL = {
  intercept: -4.6,
  coefficients: {
    ageDecadesFrom65: 0.55,
    male: 0.25,
    atrialFibrillation: 1.6,
    hypertension: 0.6,
    diabetes: 0.45,
    anticoagulant: -1.2,
  },
  /** Only people alive and at least this old at the index date are at risk. */
  minAge: 40,
  horizonDays: 730,
} as const;

export type StrokeFeatures = Record<keyof typeof STROKE_MODEL.coefficients, number>;

/** The stroke model's linear predictor for one person's features. */
export function strokeLogit(features: StrokeFeatures): number {
  let logit: number = STROKE_MODEL.intercept;
  for (const [name, beta] of Object.entries(STROKE_MODEL.coefficients)) {
    logit += beta * features[name as keyof StrokeFeatures];
  }
  return logit;
}

/** The value of the band an age falls in. */
export function bandValue(bands: AgeBands, age: number): number {
  let value = bands[0]![1];
  for (const [lower, p] of bands) if (age >= lower) value = p;
  return value;
}

/** Annual probability of death at an age (Gompertz fit to the Korean 2022 life table). */
export function annualMortality(age: number): number {
  return Math.min(0.5, Math.exp(-10.2 + 0.092 * age));
}

/** Share of people who use more than one of the study's hospitals. */
export const HOSPITALS_PER_PERSON = { one: 0.8, two: 0.15, three: 0.05 } as const;

/** Share of adults 20–74 whose wearable data reaches a hospital. */
export const WEARABLE_SHARE = 0.2;
