/**
 * Korean demographic structure and identifiers for the synthetic population.
 *
 * - Age/sex: Statistics Korea (KOSIS) 2023 mid-year resident population by 5-year band,
 *   in thousands, rounded to the nearest 10 thousand.
 * - Regions: the 17 시도 weighted by 2023 resident population (thousands), each with a
 *   few of its 시군구.
 * - Surnames: 2015 census shares of the most common surnames (김 21.5 %, 이 14.7 %, …).
 * - 주민등록번호: YYMMDD-SBBBBNC, the 7th digit encoding century and sex, the last digit
 *   the check digit of the rule used before October 2020.
 */
import type { Random } from './random.ts';

/** [lower age of band, male thousands, female thousands]; the last band is 85+. */
export const POPULATION_2023: ReadonlyArray<readonly [number, number, number]> = [
  [0, 800, 760],
  [5, 1150, 1090],
  [10, 1180, 1110],
  [15, 1190, 1110],
  [20, 1480, 1350],
  [25, 1820, 1600],
  [30, 1770, 1580],
  [35, 1700, 1590],
  [40, 2000, 1920],
  [45, 2020, 1960],
  [50, 2200, 2160],
  [55, 2050, 2060],
  [60, 2000, 2050],
  [65, 1560, 1680],
  [70, 1040, 1180],
  [75, 740, 950],
  [80, 510, 800],
  [85, 270, 640],
];

export type Sex = 'male' | 'female';

const AGE_SEX_BANDS = POPULATION_2023.flatMap(([age, m, f]) => [
  { age, sex: 'male' as const, weight: m },
  { age, sex: 'female' as const, weight: f },
]);
const AGE_SEX_WEIGHTS = AGE_SEX_BANDS.map((b) => b.weight);

/** Age (whole years) and sex drawn from the 2023 pyramid, uniform within a 5-year band. */
export function sampleAgeSex(random: Random): { age: number; sex: Sex } {
  const band = random.weighted(AGE_SEX_BANDS, AGE_SEX_WEIGHTS);
  const width = band.age === 85 ? 15 : 5;
  return { age: band.age + random.int(0, width - 1), sex: band.sex };
}

export interface Region {
  sido: string;
  sidoEn: string;
  weight: number;
  sigungu: readonly string[];
  /** First two digits of this 시도's 5-digit postal codes (국가기초구역번호), lowest and highest. */
  postalAreas: readonly [number, number];
}

export const REGIONS: readonly Region[] = [
  {
    sido: '서울특별시',
    sidoEn: 'Seoul',
    weight: 9390,
    sigungu: ['강남구', '송파구', '관악구', '마포구', '노원구', '종로구'],
    postalAreas: [1, 9],
  },
  {
    sido: '부산광역시',
    sidoEn: 'Busan',
    weight: 3290,
    sigungu: ['해운대구', '부산진구', '사하구', '동래구'],
    postalAreas: [46, 49],
  },
  {
    sido: '대구광역시',
    sidoEn: 'Daegu',
    weight: 2370,
    sigungu: ['수성구', '달서구', '북구', '중구'],
    postalAreas: [41, 43],
  },
  {
    sido: '인천광역시',
    sidoEn: 'Incheon',
    weight: 3000,
    sigungu: ['연수구', '남동구', '부평구', '서구'],
    postalAreas: [21, 23],
  },
  {
    sido: '광주광역시',
    sidoEn: 'Gwangju',
    weight: 1420,
    sigungu: ['북구', '광산구', '서구', '남구'],
    postalAreas: [61, 62],
  },
  {
    sido: '대전광역시',
    sidoEn: 'Daejeon',
    weight: 1440,
    sigungu: ['유성구', '서구', '중구', '대덕구'],
    postalAreas: [34, 35],
  },
  {
    sido: '울산광역시',
    sidoEn: 'Ulsan',
    weight: 1100,
    sigungu: ['남구', '북구', '울주군', '중구'],
    postalAreas: [44, 45],
  },
  { sido: '세종특별자치시', sidoEn: 'Sejong', weight: 390, sigungu: ['세종시'], postalAreas: [30, 30] },
  {
    sido: '경기도',
    sidoEn: 'Gyeonggi',
    weight: 13630,
    sigungu: ['수원시', '성남시', '고양시', '용인시', '부천시', '화성시'],
    postalAreas: [10, 18],
  },
  {
    sido: '강원특별자치도',
    sidoEn: 'Gangwon',
    weight: 1530,
    sigungu: ['춘천시', '원주시', '강릉시'],
    postalAreas: [24, 26],
  },
  {
    sido: '충청북도',
    sidoEn: 'Chungbuk',
    weight: 1590,
    sigungu: ['청주시', '충주시', '제천시'],
    postalAreas: [27, 29],
  },
  {
    sido: '충청남도',
    sidoEn: 'Chungnam',
    weight: 2130,
    sigungu: ['천안시', '아산시', '서산시', '공주시'],
    postalAreas: [31, 33],
  },
  {
    sido: '전북특별자치도',
    sidoEn: 'Jeonbuk',
    weight: 1760,
    sigungu: ['전주시', '익산시', '군산시'],
    postalAreas: [54, 56],
  },
  {
    sido: '전라남도',
    sidoEn: 'Jeonnam',
    weight: 1800,
    sigungu: ['여수시', '순천시', '목포시', '나주시'],
    postalAreas: [57, 60],
  },
  {
    sido: '경상북도',
    sidoEn: 'Gyeongbuk',
    weight: 2560,
    sigungu: ['포항시', '구미시', '경주시', '안동시'],
    postalAreas: [36, 40],
  },
  {
    sido: '경상남도',
    sidoEn: 'Gyeongnam',
    weight: 3250,
    sigungu: ['창원시', '김해시', '진주시', '양산시'],
    postalAreas: [50, 53],
  },
  {
    sido: '제주특별자치도',
    sidoEn: 'Jeju',
    weight: 670,
    sigungu: ['제주시', '서귀포시'],
    postalAreas: [63, 63],
  },
];

const SURNAMES = [
  '김',
  '이',
  '박',
  '최',
  '정',
  '강',
  '조',
  '윤',
  '장',
  '임',
  '한',
  '오',
  '서',
  '신',
  '권',
  '황',
  '안',
  '송',
  '전',
  '홍',
  '유',
  '고',
  '문',
  '양',
  '손',
];
const SURNAME_SHARE = [
  21.5, 14.7, 8.4, 4.7, 4.3, 2.4, 2.1, 2.1, 2.0, 1.7, 1.5, 1.5, 1.5, 1.5, 1.4, 1.4, 1.4, 1.4, 1.1, 1.1, 1.1,
  0.9, 0.9, 0.9, 0.9,
];
const GIVEN_MALE = [
  '민',
  '준',
  '서',
  '도',
  '현',
  '우',
  '지',
  '훈',
  '성',
  '진',
  '호',
  '영',
  '석',
  '재',
  '동',
  '건',
  '태',
  '승',
];
const GIVEN_FEMALE = [
  '서',
  '지',
  '민',
  '수',
  '은',
  '영',
  '예',
  '하',
  '윤',
  '유',
  '희',
  '정',
  '미',
  '진',
  '아',
  '연',
  '주',
  '혜',
];
const ROADS = [
  '중앙로',
  '세종대로',
  '한강대로',
  '태평로',
  '번영로',
  '문화로',
  '대학로',
  '시청로',
  '역전로',
  '공원로',
  '산업로',
  '평화로',
  '희망로',
];

/** A surname by census frequency and a two-syllable given name typical for the sex. */
export function sampleName(random: Random, sex: Sex): { family: string; given: string } {
  const syllables = sex === 'male' ? GIVEN_MALE : GIVEN_FEMALE;
  let given = random.pick(syllables) + random.pick(syllables);
  while (given[0] === given[1]) given = random.pick(syllables) + random.pick(syllables);
  return { family: random.weighted(SURNAMES, SURNAME_SHARE), given };
}

export interface Address {
  sido: string;
  sigungu: string;
  line: string;
  postalCode: string;
}

/** A road-name address (도로명주소) in a 시도 drawn by population, with a postal code of that 시도. */
export function sampleAddress(random: Random): Address {
  const region = random.weighted(
    REGIONS,
    REGIONS.map((r) => r.weight),
  );
  const sigungu = random.pick(region.sigungu);
  return {
    sido: region.sido,
    sigungu,
    line: `${random.pick(ROADS)} ${random.int(1, 480)}`,
    postalCode:
      String(random.int(region.postalAreas[0], region.postalAreas[1])).padStart(2, '0') + random.digits(3),
  };
}

const RRN_WEIGHTS = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];

/** The check digit of a 주민등록번호 under the pre-October-2020 rule. */
export function rrnCheckDigit(first12: string): number {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(first12[i]) * RRN_WEIGHTS[i]!;
  return (11 - (sum % 11)) % 10;
}

/** 7th digit: 9/0 for 1800s, 1/2 for 1900s, 3/4 for 2000s (male/female). */
export function rrnCenturySexDigit(birthYear: number, sex: Sex): number {
  const male = sex === 'male';
  if (birthYear < 1900) return male ? 9 : 0;
  if (birthYear < 2000) return male ? 1 : 2;
  return male ? 3 : 4;
}

/**
 * A 주민등록번호 for a birth date and sex: YYMMDD, the century/sex digit, five serial
 * digits (`serial`, which the caller keeps unique) and the check digit.
 */
export function makeRrn(birthDate: string, sex: Sex, serial: string): string {
  if (!/^\d{5}$/.test(serial)) throw new RangeError(`RRN serial must be 5 digits (got ${serial})`);
  const [y, m, d] = birthDate.split('-');
  const front = `${y!.slice(2)}${m}${d}`;
  const body = `${front}${rrnCenturySexDigit(Number(y), sex)}${serial}`;
  return `${front}-${body.slice(6)}${rrnCheckDigit(body)}`;
}

/** Checks format, check digit, and agreement with a birth date and sex. */
export function rrnAgrees(rrn: string, birthDate: string, sex: Sex): boolean {
  const m = /^(\d{6})-(\d{7})$/.exec(rrn);
  if (!m) return false;
  const digits = m[1]! + m[2]!;
  if (rrnCheckDigit(digits.slice(0, 12)) !== Number(digits[12])) return false;
  const [y, mo, d] = birthDate.split('-');
  return m[1] === `${y!.slice(2)}${mo}${d}` && Number(digits[6]) === rrnCenturySexDigit(Number(y), sex);
}

/** A mobile number 010-XXXX-XXXX from 8 digits (the caller keeps them unique). */
export function makePhone(digits8: string): string {
  return `010-${digits8.slice(0, 4)}-${digits8.slice(4, 8)}`;
}

/** 국민건강보험 증번호: 11 digits, a leading 1–9 then 10 digits the caller keeps unique. */
export function makeInsuranceNumber(random: Random, digits10: string): string {
  return `${random.int(1, 9)}${digits10}`;
}
