/**
 * Calls to the hub's access workflow API: applications and their attachments and
 * timeline, DRB reviews and votes, permits, and the operator's audit log. The reply types
 * are the hub's own (hub/access/service.ts, protocol/access.ts), never copies.
 */
import type {
  ApplicationDraft,
  ApplicationSummary,
  ApplicationView,
  AttachmentView,
  DrbView,
  HistoryEvent,
  PermitView,
  ReviewView,
  VoteInput,
} from '../../src/protocol/access.ts';
import type { AuditEntry, ChainVerdict } from '../../src/protocol/audit-chain.ts';
import {
  FEASIBILITY_PATHS,
  type FeasibilityQueryList,
  type FeasibilityQueryView,
  feasibilityQueryPath,
} from '../../src/protocol/feasibility.ts';
import { ApiError, csrfToken, request } from './api.ts';

export type { ApplicationView, AttachmentView, HistoryEvent, PermitView, ReviewView };
export type AttachmentKind = AttachmentView['kind'];
export type ReviewDetail = ReviewView & { application: ApplicationView };

const enc = encodeURIComponent;

function csrfHeader(): Record<string, string> {
  const token = csrfToken();
  return token ? { 'x-csrf-token': token } : {};
}

/** Uploads a file as the raw request body (the hub checks its type by content). */
async function uploadAttachment(id: string, kind: AttachmentKind, file: File): Promise<AttachmentView> {
  const response = await fetch(
    `/api/applications/${enc(id)}/attachments?${new URLSearchParams({ kind, name: file.name })}`,
    {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': file.type || 'application/octet-stream', ...csrfHeader() },
      body: file,
    },
  );
  const payload = (await response.json().catch(() => undefined)) as
    | (AttachmentView & { detail?: string; code?: string })
    | undefined;
  if (!response.ok)
    throw new ApiError(response.status, payload?.detail ?? response.statusText, payload?.code);
  return payload as AttachmentView;
}

/**
 * Saves a draft while the page is being left: `keepalive` lets the request outlive the
 * page, so an edit typed just before a reload still reaches the hub.
 */
function saveOnLeave(id: string, patch: ApplicationDraft): void {
  void fetch(`/api/applications/${enc(id)}`, {
    method: 'PATCH',
    credentials: 'same-origin',
    keepalive: true,
    headers: { 'content-type': 'application/json', ...csrfHeader() },
    body: JSON.stringify(patch),
  }).catch(() => undefined);
}

/** A problem reply's field errors, kept so a caller can tell which fields were refused. */
export class FieldProblem extends ApiError {
  constructor(
    status: number,
    message: string,
    code: string | undefined,
    readonly issues: { where: string; message: string }[],
  ) {
    super(status, message, code);
  }
}

/** The top-level draft fields a refused save named (`body/irb/number` → `irb`). */
export function refusedFields(error: unknown): (keyof ApplicationDraft)[] {
  if (!(error instanceof FieldProblem) || error.code !== 'validation_failed') return [];
  const fields = error.issues.flatMap((i) => {
    const match = /^body\/([^/]+)/.exec(i.where);
    return match ? [match[1] as keyof ApplicationDraft] : [];
  });
  return [...new Set(fields)];
}

/** PATCH of a draft; a refusal keeps the hub's list of field errors. */
async function saveDraft(id: string, patch: ApplicationDraft): Promise<ApplicationView> {
  const response = await fetch(`/api/applications/${enc(id)}`, {
    method: 'PATCH',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', ...csrfHeader() },
    body: JSON.stringify(patch),
  });
  const payload = (await response.json().catch(() => undefined)) as unknown;
  if (!response.ok) {
    const problem = (payload ?? {}) as { detail?: string; code?: string; issues?: unknown };
    const issues = Array.isArray(problem.issues)
      ? (problem.issues as { where: string; message: string }[])
      : [];
    throw new FieldProblem(response.status, problem.detail ?? response.statusText, problem.code, issues);
  }
  return payload as ApplicationView;
}

export interface AuditFilter {
  afterSeq?: number;
  limit?: number;
  actorId?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
}

export const accessApi = {
  applications: () => request<{ applications: ApplicationSummary[] }>('GET', '/api/applications'),
  application: (id: string) => request<ApplicationView>('GET', `/api/applications/${enc(id)}`),
  history: (id: string) => request<{ events: HistoryEvent[] }>('GET', `/api/applications/${enc(id)}/history`),
  create: (draft: ApplicationDraft) => request<ApplicationView>('POST', '/api/applications', draft),
  save: saveDraft,
  saveOnLeave,
  submit: (id: string) => request<ApplicationView>('POST', `/api/applications/${enc(id)}/submit`),
  resubmit: (id: string) => request<ApplicationView>('POST', `/api/applications/${enc(id)}/resubmit`),
  close: (id: string) => request<ApplicationView>('POST', `/api/applications/${enc(id)}/close`),
  returnToApplicant: (id: string, comment: string) =>
    request<ApplicationView>('POST', `/api/applications/${enc(id)}/return`, { comment }),
  uploadAttachment,
  attachmentUrl: (id: string, attachmentId: string) =>
    `/api/applications/${enc(id)}/attachments/${enc(attachmentId)}`,
  siteReviews: (siteId: string) =>
    request<{ reviews: ReviewView[] }>('GET', `/api/sites/${enc(siteId)}/reviews`),
  review: (id: string) => request<ReviewDetail>('GET', `/api/reviews/${enc(id)}`),
  vote: (id: string, vote: VoteInput) => request<ReviewView>('POST', `/api/reviews/${enc(id)}/votes`, vote),
  joint: (id: string, choice: 'accepted' | 'opted_out') =>
    request<ReviewView>('POST', `/api/reviews/${enc(id)}/joint`, { choice }),
  drb: (siteId: string) => request<DrbView>('GET', `/api/sites/${enc(siteId)}/drb`),
  permit: (id: string) => request<PermitView>('GET', `/api/permits/${enc(id)}`),
  revokePermit: (id: string, reason: string) =>
    request<PermitView>('POST', `/api/permits/${enc(id)}/revoke`, { reason }),
  audit: (filter: AuditFilter) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(filter))
      if (value !== undefined && value !== '') params.set(key, String(value));
    return request<{ entries: AuditEntry[] }>('GET', `/api/audit?${params}`);
  },
  /** The signed-in user's feasibility queries, one of which an application may link (and take its cohort). */
  feasibilityQueries: () => request<FeasibilityQueryList>('GET', FEASIBILITY_PATHS.queries),
  feasibilityQuery: (id: string) => request<FeasibilityQueryView>('GET', feasibilityQueryPath(id)),
  /** The feasibility query an application links, as its reviewers see it. */
  applicationFeasibility: (id: string) =>
    request<FeasibilityQueryView>('GET', `/api/applications/${enc(id)}/feasibility`),
  verifyAudit: () => request<ChainVerdict>('POST', '/api/audit/verify'),
};
