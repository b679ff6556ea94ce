/**
 * Who hears about what in the access workflow. The access service calls these inside
 * its transactions; the recipients are decided here so the workflow's rules stay in
 * access/service.ts and the wording of notifications stays in one place.
 */
import type { Kysely } from 'kysely';
import type { HubContext } from '../context.ts';
import type { HubDatabase } from '../db/schema.ts';
import { notify } from './service.ts';
import { drbMembersOf } from './store.ts';

export interface ApplicationFacts {
  id: string;
  applicantId: string;
  title: string;
  siteIds: readonly string[];
}

const applicationLink = (id: string) => `/applications/${id}`;
const named = (title: string) => (title.trim().length > 0 ? title : '(untitled)');

/**
 * After a state change: submitted or resubmitted → the DRB members of each requested site
 * (their vote is needed); under review, returned, approved, rejected → the applicant.
 * Other actions (edits, withdrawal, close) notify no one.
 */
export async function notifyApplicationChange(
  ctx: HubContext,
  trx: Kysely<HubDatabase>,
  application: ApplicationFacts,
  action: string,
  comment?: string,
): Promise<void> {
  const title = named(application.title);
  const link = applicationLink(application.id);
  switch (action) {
    case 'submit':
    case 'resubmit':
      await notify(
        ctx,
        {
          userIds: await drbMembersOf(trx, application.siteIds),
          kind: 'review.vote_needed',
          title: {
            ko: action === 'submit' ? '심의할 연구 신청이 접수되었습니다' : '연구 신청이 재제출되었습니다',
            en: action === 'submit' ? 'An application awaits your review' : 'An application was resubmitted',
          },
          body: `${title} — sites: ${application.siteIds.join(', ')}`,
          link,
        },
        trx,
      );
      return;
    case 'begin_review':
      return applicantHears(ctx, trx, application, 'application.under_review', {
        ko: '연구 신청 심의가 시작되었습니다',
        en: 'Your application is under review',
      });
    case 'return':
      return applicantHears(
        ctx,
        trx,
        application,
        'application.returned',
        { ko: '연구 신청이 보완 요청으로 반려되었습니다', en: 'Your application was returned for changes' },
        comment,
      );
    case 'approve':
      return applicantHears(ctx, trx, application, 'application.approved', {
        ko: '연구 신청이 승인되었습니다',
        en: 'Your application was approved',
      });
    case 'reject':
      return applicantHears(ctx, trx, application, 'application.rejected', {
        ko: '연구 신청이 거절되었습니다',
        en: 'Your application was rejected',
      });
    default:
      return;
  }
}

async function applicantHears(
  ctx: HubContext,
  trx: Kysely<HubDatabase>,
  application: ApplicationFacts,
  kind: string,
  title: { ko: string; en: string },
  comment?: string,
): Promise<void> {
  await notify(
    ctx,
    {
      userIds: [application.applicantId],
      kind,
      title,
      body: comment ? `${named(application.title)}: ${comment}` : named(application.title),
      link: applicationLink(application.id),
    },
    trx,
  );
}

/** A permit issued or revoked → the applicant and the permit's other researchers. */
export async function notifyPermit(
  ctx: HubContext,
  trx: Kysely<HubDatabase>,
  permit: { id: string; applicationId: string; researchers: readonly string[]; sites: readonly string[] },
  event: 'issued' | 'revoked',
  reason?: string,
): Promise<void> {
  await notify(
    ctx,
    {
      userIds: permit.researchers,
      kind: `permit.${event}`,
      title:
        event === 'issued'
          ? { ko: '데이터 이용 허가서가 발급되었습니다', en: 'A permit was issued' }
          : { ko: '데이터 이용 허가서가 철회되었습니다', en: 'A permit was revoked' },
      body: `permit ${permit.id} — sites: ${permit.sites.join(', ')}${reason ? ` — ${reason}` : ''}`,
      link: `/permits/${permit.id}`,
    },
    trx,
  );
}
