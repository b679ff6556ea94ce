/**
 * The one error model of Itda. Services throw `ItdaError` with a stable `code`;
 * the hub maps codes to HTTP statuses and answers RFC 9457 problem+json, and the
 * CLI prints the message and exits non-zero.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  unsupported: 400,
  unauthenticated: 401,
  bad_signature: 401,
  replayed_request: 401,
  unknown_site: 401,
  forbidden: 403,
  site_not_approved: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  cell_too_small: 422,
  permit_invalid: 403,
  permit_expired: 403,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ItdaError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ItdaError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isItdaError(value: unknown): value is ItdaError {
  return value instanceof ItdaError;
}

/** RFC 9457 problem details as the hub sends them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  [extension: string]: unknown;
}

export function problemTypeUri(code: ErrorCode): string {
  return `https://itda.dev/problems/${code.replaceAll('_', '-')}`;
}
