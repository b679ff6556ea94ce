/**
 * Identifiers that look random but never collide: a keyed permutation (a small Feistel
 * network over decimal digits) of the person's index. Unique by construction — no set
 * of ids already issued is kept, so memory stays flat — and the same seed gives the same
 * ids. Every id is fixed-width and matches the FHIR R4 `id` pattern
 * `[A-Za-z0-9\-\.]{1,64}` (http://hl7.org/fhir/R4/datatypes.html#id).
 */
import { hashText } from './random.ts';

const ROUNDS = 8;

function mix(key: number, round: number, value: number): number {
  let h = (key ^ Math.imul(round + 1, 0x9e3779b9) ^ value) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Permutes [0, 10^digits) under `key`: each value maps to exactly one other, so distinct
 * indexes always give distinct results. Up to 12 digits.
 */
export function permuteDecimal(value: number, digits: number, key: number): number {
  if (!Number.isInteger(digits) || digits < 2 || digits > 12) throw new RangeError(`digits ${digits}`);
  const m = 10 ** Math.ceil(digits / 2);
  const n = 10 ** Math.floor(digits / 2);
  if (!Number.isInteger(value) || value < 0 || value >= m * n)
    throw new RangeError(`${value} does not fit in ${digits} digits`);
  // Alternating Feistel on Z_m × Z_n: each round swaps the halves, so an even number of
  // rounds lands back on Z_m × Z_n; every round is invertible, hence a permutation.
  let left = Math.floor(value / n);
  let right = value % n;
  let leftModulus = m;
  let rightModulus = n;
  for (let round = 0; round < ROUNDS; round++) {
    const next = (left + (mix(key, round, right) % leftModulus)) % leftModulus;
    left = right;
    right = next;
    [leftModulus, rightModulus] = [rightModulus, leftModulus];
  }
  return left * rightModulus + right;
}

/** `permuteDecimal` as a zero-padded string of exactly `digits` digits. */
export function permutedDigits(value: number, digits: number, key: number): string {
  return String(permuteDecimal(value, digits, key)).padStart(digits, '0');
}

/** A 32-bit key for one kind of identifier under one seed. */
export function identifierKey(seed: string | number, purpose: string): number {
  return hashText(`${seed}:id:${purpose}`);
}

/** Two-digit site number, so ids stay fixed-width for up to 99 hospitals. */
export function siteCode(site: number): string {
  return String(site).padStart(2, '0');
}

/** The person's `Patient.id` at one hospital: unique per hospital, different at each. */
export function localPatientId(seed: string | number, site: number, personIndex: number): string {
  return `pt-${siteCode(site)}-${permutedDigits(personIndex, 10, identifierKey(seed, `patient:${site}`))}`;
}

/** The hospital's own 환자번호 (8 digits), unique within the hospital. */
export function localPatientNumber(seed: string | number, site: number, personIndex: number): string {
  return permutedDigits(personIndex, 8, identifierKey(seed, `mrn:${site}`));
}

/** The 5 serial digits of a 주민등록번호: distinct for the first 100,000 people of a seed. */
export function rrnSerial(seed: string | number, personIndex: number): string {
  const block = Math.floor(personIndex / 100_000);
  return permutedDigits(personIndex % 100_000, 5, identifierKey(seed, `rrn:${block}`));
}

/** The 8 digits after 010: distinct for up to 10^8 people. */
export function phoneDigits(seed: string | number, personIndex: number): string {
  return permutedDigits(personIndex, 8, identifierKey(seed, 'phone'));
}

/** 국민건강보험 증번호 body (10 digits), distinct per person. */
export function insuranceDigits(seed: string | number, personIndex: number): string {
  return permutedDigits(personIndex, 10, identifierKey(seed, 'insurance'));
}
