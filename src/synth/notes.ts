/**
 * Free-text Korean clinical notes. Some notes mention the patient's identifiers, as real
 * notes do; every planted string is reported so de-identification can be scored.
 */
import type { DiagnosisKey } from './codes.ts';
import { DIAGNOSES } from './codes.ts';
import type { Random } from './random.ts';

export type PiiKind = 'name' | 'rrn' | 'phone' | 'address' | 'patientNumber';

export interface PlantedPii {
  kind: PiiKind;
  value: string;
}

export interface NoteSubject {
  fullName: string;
  rrn: string;
  phone: string;
  address: string;
  patientNumber: string;
}

/** Chance that a note mentions each identifier. */
export const PII_CHANCE: Record<PiiKind, number> = {
  name: 0.3,
  rrn: 0.08,
  phone: 0.1,
  address: 0.08,
  patientNumber: 0.15,
};

const COMPLAINTS = [
  '두통',
  '어지러움',
  '가슴 답답함',
  '피로감',
  '숨참',
  '기침',
  '부종',
  '두근거림',
  '기억력 저하',
];
const PLANS = [
  '현 처방 유지',
  '2개월 후 재진',
  '검사 결과 확인 후 약 조절',
  '생활습관 교정 교육',
  '영양 상담 의뢰',
];

/**
 * A Korean progress note (경과기록) for a FHIR R4 `DocumentReference` attachment
 * (http://hl7.org/fhir/R4/documentreference.html); returns the identifiers it mentions.
 */
export function progressNote(
  random: Random,
  subject: NoteSubject,
  context: { date: string; conditions: DiagnosisKey[]; systolic?: number; diastolic?: number },
): { text: string; planted: PlantedPii[] } {
  const planted: PlantedPii[] = [];
  const mention = (kind: PiiKind, value: string, template: (v: string) => string): string => {
    if (!random.chance(PII_CHANCE[kind])) return '';
    planted.push({ kind, value });
    return template(value);
  };
  const lines = [
    `[경과기록] ${context.date}`,
    mention('name', subject.fullName, (v) => `환자 ${v}님 외래 내원.`) || '환자 외래 내원.',
    mention('patientNumber', subject.patientNumber, (v) => `등록번호 ${v}.`),
    mention('rrn', subject.rrn, (v) => `주민등록번호 ${v} 본인 확인함.`),
    `주호소: ${random.pick(COMPLAINTS)}.`,
    context.conditions.length
      ? `기저질환: ${context.conditions.map((c) => DIAGNOSES[c].kcd7Display).join(', ')}.`
      : '특이 기저질환 없음.',
    context.systolic ? `활력징후: 혈압 ${context.systolic}/${context.diastolic} mmHg.` : '',
    mention('phone', subject.phone, (v) => `보호자 연락처 ${v}.`),
    mention('address', subject.address, (v) => `주소지 ${v} 관할 보건소 연계 예정.`),
    `계획: ${random.pick(PLANS)}.`,
  ];
  return { text: lines.filter(Boolean).join('\n'), planted };
}

/** Text of a lung biopsy pathology report, the `DiagnosticReport.conclusion`. */
export function pathologyText(random: Random, date: string): string {
  const stage = random.pick(['IA', 'IB', 'IIA', 'IIB', 'IIIA', 'IV']);
  return [
    `[병리 판독] ${date}`,
    '검체: 폐 세침흡인생검 (Fine needle aspiration biopsy of lung).',
    `진단: 비소세포폐암, 선암종 (Non-small cell carcinoma, adenocarcinoma), 병기 ${stage}.`,
    `EGFR 돌연변이: ${random.chance(0.4) ? '양성' : '음성'}.`,
  ].join('\n');
}
