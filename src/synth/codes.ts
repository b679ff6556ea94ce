/**
 * Every code the synthetic population uses: diagnoses in SNOMED CT and KCD-7 (the Korean
 * ICD-10 modification), labs and vitals in LOINC with UCUM units, drugs in RxNorm and
 * ATC. Codes are chosen from those present in the OMOP vocabulary of the Eunomia test
 * set where one fits; the few that are not there are listed in MISSING_FROM_EUNOMIA.
 */

export const SYSTEMS = {
  snomed: 'http://snomed.info/sct',
  loinc: 'http://loinc.org',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  atc: 'http://www.whocc.no/atc',
  kcd7: 'http://itda.dev/fhir/CodeSystem/kcd7',
  ucum: 'http://unitsofmeasure.org',
  dicom: 'http://dicom.nema.org/resources/ontology/DCM',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  identifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  rrn: 'http://itda.dev/fhir/sid/kr-rrn',
  insurance: 'http://itda.dev/fhir/sid/kr-nhis',
} as const;

export interface Diagnosis {
  key: string;
  snomed: string;
  snomedDisplay: string;
  /** OMOP standard concept of the SNOMED code (target of the KCD-7 "Maps to"). */
  standardConceptId: number;
  kcd7: string;
  kcd7Display: string;
  /** Concept id of the KCD-7 code in the Itda vocabulary (≥ 2,000,000,000). */
  kcd7ConceptId: number;
}

export const DIAGNOSES = {
  hypertension: {
    key: 'hypertension',
    snomed: '59621000',
    snomedDisplay: 'Essential hypertension',
    standardConceptId: 320128,
    kcd7: 'I10',
    kcd7Display: '본태성(일차성) 고혈압',
    kcd7ConceptId: 2000000001,
  },
  diabetes: {
    key: 'diabetes',
    snomed: '44054006',
    snomedDisplay: 'Type 2 diabetes mellitus',
    standardConceptId: 201826,
    kcd7: 'E11.9',
    kcd7Display: '합병증을 동반하지 않은 2형 당뇨병',
    kcd7ConceptId: 2000000002,
  },
  atrialFibrillation: {
    key: 'atrialFibrillation',
    snomed: '49436004',
    snomedDisplay: 'Atrial fibrillation',
    standardConceptId: 313217,
    kcd7: 'I48.9',
    kcd7Display: '상세불명의 심방세동 및 조동',
    kcd7ConceptId: 2000000003,
  },
  stroke: {
    key: 'stroke',
    snomed: '230690007',
    snomedDisplay: 'Cerebrovascular accident',
    standardConceptId: 381316,
    kcd7: 'I63.9',
    kcd7Display: '상세불명의 뇌경색증',
    kcd7ConceptId: 2000000004,
  },
  lungCancer: {
    key: 'lungCancer',
    snomed: '254637007',
    snomedDisplay: 'Non-small cell lung cancer',
    standardConceptId: 4115276,
    kcd7: 'C34.9',
    kcd7Display: '상세불명의 기관지 또는 폐의 악성 신생물',
    kcd7ConceptId: 2000000005,
  },
  dementia: {
    key: 'dementia',
    snomed: '26929004',
    snomedDisplay: "Alzheimer's disease",
    standardConceptId: 378419,
    kcd7: 'G30.9',
    kcd7Display: '상세불명의 알츠하이머병',
    kcd7ConceptId: 2000000006,
  },
  ckd: {
    key: 'ckd',
    snomed: '433144002',
    snomedDisplay: 'Chronic kidney disease stage 3',
    standardConceptId: 443597,
    kcd7: 'N18.3',
    kcd7Display: '만성 신장병(3기)',
    kcd7ConceptId: 2000000007,
  },
} as const satisfies Record<string, Diagnosis>;

export type DiagnosisKey = keyof typeof DIAGNOSES;

export interface LabCode {
  loinc: string;
  display: string;
  unit: string;
  category: 'vital-signs' | 'laboratory' | 'survey' | 'social-history' | 'activity' | 'procedure';
}

export const LABS = {
  systolic: { loinc: '8480-6', display: 'Systolic blood pressure', unit: 'mm[Hg]', category: 'vital-signs' },
  diastolic: {
    loinc: '8462-4',
    display: 'Diastolic blood pressure',
    unit: 'mm[Hg]',
    category: 'vital-signs',
  },
  bloodPressurePanel: {
    loinc: '85354-9',
    display: 'Blood pressure panel with all children optional',
    unit: '',
    category: 'vital-signs',
  },
  heartRate: { loinc: '8867-4', display: 'Heart rate', unit: '/min', category: 'vital-signs' },
  bodyWeight: { loinc: '29463-7', display: 'Body weight', unit: 'kg', category: 'vital-signs' },
  bodyHeight: { loinc: '8302-2', display: 'Body height', unit: 'cm', category: 'vital-signs' },
  bmi: { loinc: '39156-5', display: 'Body mass index (BMI) [Ratio]', unit: 'kg/m2', category: 'vital-signs' },
  hba1c: {
    loinc: '4548-4',
    display: 'Hemoglobin A1c/Hemoglobin.total in Blood',
    unit: '%',
    category: 'laboratory',
  },
  glucose: {
    loinc: '2345-7',
    display: 'Glucose [Mass/volume] in Serum or Plasma',
    unit: 'mg/dL',
    category: 'laboratory',
  },
  creatinine: {
    loinc: '2160-0',
    display: 'Creatinine [Mass/volume] in Serum or Plasma',
    unit: 'mg/dL',
    category: 'laboratory',
  },
  egfr: {
    loinc: '33914-3',
    display:
      'Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula (MDRD)',
    unit: 'mL/min/{1.73_m2}',
    category: 'laboratory',
  },
  qtc: { loinc: '8636-3', display: 'Q-T interval corrected', unit: 'ms', category: 'procedure' },
  rhythm: { loinc: '8884-9', display: 'Heart rate rhythm', unit: '', category: 'procedure' },
  mmse: { loinc: '72106-8', display: 'Total score [MMSE]', unit: '{score}', category: 'survey' },
  steps: {
    loinc: '55423-8',
    display: 'Number of steps in unspecified time Pedometer',
    unit: '/d',
    category: 'activity',
  },
  restingHeartRate: { loinc: '40443-4', display: 'Heart rate --resting', unit: '/min', category: 'activity' },
  sleepDuration: { loinc: '93832-4', display: 'Sleep duration', unit: 'h', category: 'activity' },
  smoking: {
    loinc: '72166-2',
    display: 'Tobacco smoking status',
    unit: '',
    category: 'social-history',
  },
} as const satisfies Record<string, LabCode>;

export interface DrugCode {
  rxnorm: string;
  display: string;
  atc: string;
  atcDisplay: string;
  /** Korean sig as written on a prescription. */
  dosageText: string;
}

export const DRUGS = {
  amlodipine: {
    rxnorm: '197361',
    display: 'amlodipine 5 MG Oral Tablet',
    atc: 'C08CA01',
    atcDisplay: 'amlodipine',
    dosageText: '1일 1회 1정 경구',
  },
  lisinopril: {
    rxnorm: '314076',
    display: 'lisinopril 10 MG Oral Tablet',
    atc: 'C09AA03',
    atcDisplay: 'lisinopril',
    dosageText: '1일 1회 1정 경구',
  },
  hydrochlorothiazide: {
    rxnorm: '310798',
    display: 'hydrochlorothiazide 25 MG Oral Tablet',
    atc: 'C03AA03',
    atcDisplay: 'hydrochlorothiazide',
    dosageText: '1일 1회 1정 경구 (아침)',
  },
  metformin: {
    rxnorm: '860975',
    display: '24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet',
    atc: 'A10BA02',
    atcDisplay: 'metformin',
    dosageText: '1일 1회 1정 경구 (저녁 식후)',
  },
  insulin: {
    rxnorm: '106892',
    display:
      'insulin isophane, human 70 UNT/ML / insulin, regular, human 30 UNT/ML Injectable Suspension [Humulin]',
    atc: 'A10AD01',
    atcDisplay: 'insulin (human)',
    dosageText: '1일 2회 아침·저녁 식전 피하주사',
  },
  warfarin: {
    rxnorm: '855332',
    display: 'warfarin sodium 5 MG Oral Tablet',
    atc: 'B01AA03',
    atcDisplay: 'warfarin',
    dosageText: '1일 1회 1정 경구 (INR에 따라 조절)',
  },
  clopidogrel: {
    rxnorm: '309362',
    display: 'clopidogrel 75 MG Oral Tablet',
    atc: 'B01AC04',
    atcDisplay: 'clopidogrel',
    dosageText: '1일 1회 1정 경구',
  },
} as const satisfies Record<string, DrugCode>;

export const PROCEDURES = {
  ecg: { snomed: '29303009', display: 'Electrocardiographic procedure' },
  chestCt: { snomed: '418891003', display: 'CT of chest and abdomen', modality: 'CT', bodySite: '51185008' },
  brainMri: {
    snomed: '816077007',
    display: 'Magnetic resonance imaging of brain',
    modality: 'MR',
    bodySite: '12738006',
  },
  lungBiopsy: { snomed: '432231006', display: 'Fine needle aspiration biopsy of lung' },
} as const;

export const NOTE_TYPES = {
  progress: { loinc: '11506-3', display: 'Progress note' },
  pathology: { loinc: '11529-5', display: 'Surgical pathology study' },
} as const;

/**
 * Codes emitted on purpose although Eunomia's vocabulary subset lacks them (so they reach
 * OMOP with concept 0 unless a site loads a fuller vocabulary). A test keeps this exact.
 */
export const MISSING_FROM_EUNOMIA: readonly string[] = [
  'LOINC 8636-3', // QTc interval
  'LOINC 8884-9', // heart rhythm
  'LOINC 55423-8', // wearable steps
  'LOINC 40443-4', // wearable resting heart rate
  'LOINC 93832-4', // wearable sleep duration
  'LOINC 11506-3', // progress note
  'LOINC 11529-5', // surgical pathology report
  'SNOMED 816077007', // MRI of brain
  'SNOMED 12738006', // brain structure (imaging body site)
  'SNOMED 51185008', // thoracic structure (imaging body site)
  'SNOMED 266919005', // never smoked tobacco
];

/**
 * Codes Eunomia has, but only as non-standard concepts without a "Maps to" a standard one
 * (LOINC 33914-3, MDRD eGFR, was upgraded in LOINC; Synthea and many labs still send it).
 */
export const NON_STANDARD_IN_EUNOMIA: readonly string[] = ['LOINC 33914-3'];
