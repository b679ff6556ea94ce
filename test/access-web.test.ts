/**
 * The access workflow in a real browser against the demo network: the researcher fills
 * the application form (autosaved, kept over a reload), uploads the IRB letter (its
 * checksum and size shown) and submits; three DRB members of each requested hospital
 * vote on the review screen, which shows the linked feasibility query's per-site counts;
 * the researcher opens the signed permit, a DRB member
 * revokes it, and the operator's audit viewer verifies the chain.
 */
import { createHash } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFeasibilityQuery, submitFeasibilityQuery } from '../src/hub/feasibility/service.ts';
import type { FeasibilityQueryView } from '../src/protocol/feasibility.ts';
import { commonConditionOver65 } from '../src/site/feasibility/test-fixture.ts';
import { launchBrowser } from './support/browser.ts';
import { startTestDemo, type TestDemo } from './support/demo.ts';

const IRB_LETTER = Buffer.from(
  '%PDF-1.7\n% 한강대학교 생명윤리위원회 승인서 HG-IRB-2026-0042\n1 0 obj <<>> endobj\n%%EOF\n',
);
const TITLE = '고령 환자 코호트 연구 Older patients cohort';

describe('access workflow pages', () => {
  let network: TestDemo;
  let browser: Browser;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    network = await startTestDemo('itda-access-web-', { buildWeb: true });
    browser = await launchBrowser();
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    await network?.dispose();
  });

  /** A fresh browser context signed in as `email` through the login page. */
  async function signedIn(email: string): Promise<Page> {
    const context = await browser.newContext({ baseURL: network.url, locale: 'ko-KR' });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => consoleErrors.push(`${email}: ${error.message}`));
    await page.goto('/login');
    await page.getByLabel('이메일').fill(email);
    await page.locator('input[type=password]').fill('itda-demo');
    await page.getByRole('button', { name: '로그인' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    return page;
  }

  let applicationPath: string;
  let feasibility: FeasibilityQueryView;

  /** The researcher's feasibility query of the study's cohort, answered by both demo hospitals. */
  async function settledFeasibilityQuery(): Promise<FeasibilityQueryView> {
    const ctx = network.hub.ctx;
    const researcher = await ctx.db
      .selectFrom('app_user')
      .select(['id', 'roles'])
      .where('email', '=', 'researcher@itda.demo')
      .executeTakeFirstOrThrow();
    const query = await submitFeasibilityQuery(ctx, researcher, {
      name: '65세 이상 코호트 규모',
      definition: commonConditionOver65() as Record<string, unknown>,
      siteIds: ['site-1', 'site-2'],
    });
    return getFeasibilityQuery(ctx, researcher, query.id, 60);
  }

  it('fills the form with autosave, keeps it over a reload, uploads the IRB letter and submits', async () => {
    feasibility = await settledFeasibilityQuery();
    expect(feasibility.status).toBe('complete');
    const page = await signedIn('researcher@itda.demo');
    await page.getByRole('link', { name: '연구 신청' }).click();
    await page.waitForURL('**/applications');
    await page.getByRole('button', { name: '새 신청서' }).click();
    await page.waitForURL(/\/applications\/[0-9a-f-]{36}$/);
    applicationPath = new URL(page.url()).pathname;

    await page.getByLabel('연구 제목').fill(TITLE);
    await page.getByLabel('연구 목적').fill('연합 모델 전에 기관별 코호트 규모를 확인합니다');
    await page.getByLabel('연구 질문').fill('65세 이상 환자 중 해당 질환자는 기관마다 몇 명인가?');
    await page
      .getByLabel('데이터 관리 계획')
      .fill('집계만 사용하며 행 단위 자료는 병원 밖으로 나가지 않습니다');
    await page.getByLabel('연구 범위').selectOption('HMB');
    await page.getByRole('button', { name: '연구원 추가' }).click();
    await page.getByTestId('member-row').getByLabel('이름').fill('김연구');
    // The catalog's datasets of both hospitals; picking one requests its hospital too.
    await page.getByRole('checkbox', { name: /— site-1$/ }).check();
    await page.getByRole('checkbox', { name: /— site-2$/ }).check();
    expect(await page.getByRole('checkbox', { name: /site-2\)/ }).isChecked()).toBe(true);
    await page.getByRole('checkbox', { name: /site-1\)/ }).check();
    await page.getByRole('checkbox', { name: /site-2\)/ }).check();
    await page.getByLabel('이용 시작일').fill('2026-01-01');
    await page.getByLabel('이용 종료일').fill('2099-12-31');
    await page.getByLabel('분석 방식').selectOption('federated_analysis');
    // Linking the feasibility query takes its definition as the cohort.
    await page.getByLabel('실현 가능성 조회 연결').selectOption(feasibility.id);
    await expect
      .poll(async () => JSON.parse((await page.getByLabel('코호트 정의 (Circe JSON)').inputValue()) || '{}'))
      .toEqual(feasibility.definition);
    await page.getByLabel('IRB 승인 번호').fill('HG-IRB-2026-0042');
    await page.getByLabel('IRB 기관').fill('한강대학교 생명윤리위원회');
    await page.getByLabel('승인일').fill('2026-01-15');
    await page.getByLabel('만료일').fill('2099-01-14');

    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'IRB 승인서 올리기' }).click();
    await (await chooser).setFiles({
      name: 'IRB 승인서.pdf',
      mimeType: 'application/pdf',
      buffer: IRB_LETTER,
    });
    const sha256 = createHash('sha256').update(IRB_LETTER).digest('hex');
    await expect.poll(() => page.getByTestId('attachment-sha256').textContent()).toBe(sha256);
    expect(await page.getByTestId('attachment-size').textContent()).toBe(`${IRB_LETTER.length} B`);
    await expect.poll(() => page.getByTestId('irb-document').textContent()).toMatch(/승인서 첨부됨/);
    await expect.poll(() => page.getByTestId('saved-at').textContent()).toMatch(/저장됨/);
    // Every field has reached the hub: nothing waits, and the hub holds what was typed.
    await expect.poll(() => page.getByTestId('save-waiting').count()).toBe(0);
    await expect
      .poll(async () => {
        const saved = await network.hub.ctx.db
          .selectFrom('application')
          .select('content')
          .where('id', '=', applicationPath.split('/').at(-1)!)
          .executeTakeFirstOrThrow();
        const content = saved.content as {
          irb?: { documentAttachmentId?: string };
          siteIds?: string[];
          feasibilityQueryId?: string;
        };
        return [content.siteIds, Boolean(content.irb?.documentAttachmentId), content.feasibilityQueryId];
      })
      .toEqual([['site-1', 'site-2'], true, feasibility.id]);

    // A reload shows what was saved; an edit typed just before it survives too.
    await page.getByLabel('연구 질문').fill('65세 이상 환자 중 해당 질환자는 기관마다 몇 명인가? (수정)');
    await page.reload();
    await expect.poll(() => page.getByLabel('연구 제목').inputValue()).toBe(TITLE);
    await expect.poll(() => page.getByLabel('연구 질문').inputValue()).toMatch(/\(수정\)$/);
    expect(await page.getByLabel('IRB 승인 번호').inputValue()).toBe('HG-IRB-2026-0042');
    expect(await page.getByRole('checkbox', { name: /site-2\)/ }).isChecked()).toBe(true);

    await page.getByRole('button', { name: '제출', exact: true }).click();
    // The hub's refusal, if any, is on the page: show it rather than only a state that did not change.
    await page.getByTestId('application-error').or(page.locator('[data-state=submitted]')).first().waitFor();
    expect(await page.getByTestId('application-error').allTextContents()).toEqual([]);
    await expect
      .poll(() => page.getByTestId('application-state').getAttribute('data-state'))
      .toBe('submitted');
    await expect.poll(() => page.getByTestId('application-review').count()).toBe(2);
    const timeline = () =>
      page
        .getByTestId('timeline-item')
        .evaluateAll((items) => items.map((i) => i.getAttribute('data-action')));
    await expect.poll(async () => (await timeline()).at(-1)).toBe('application.submit');
    const actions = await timeline();
    expect(actions[0]).toBe('application.create');
    expect(actions).toContain('attachment.upload');
    await page.context().close();
  }, 180_000);

  it('lets three DRB members of each hospital vote on the review screen', async () => {
    for (const site of [1, 2] as const) {
      for (const letter of ['a', 'b', 'c'] as const) {
        const page = await signedIn(`drb${site}-${letter}@itda.demo`);
        await page.getByRole('link', { name: '심의함' }).click();
        await page.waitForURL('**/reviews');
        const row = page.getByTestId('review-row').filter({ hasText: TITLE });
        await expect.poll(() => row.count()).toBe(1);
        expect(await row.getAttribute('data-site')).toBe(`site-${site}`);
        await row.getByRole('link').click();
        await page.waitForURL(/\/reviews\/[0-9a-f-]{36}$/);
        // The review shows the application and the DUO check (no catalog dataset named: needs review).
        await expect.poll(() => page.getByRole('heading', { name: TITLE }).count()).toBe(1);
        // The DUO check of the hospital's dataset against the intended use, as the hub recorded it.
        await expect.poll(() => page.getByTestId('duo-dataset').count()).toBe(1);
        const recorded = await network.hub.ctx.db
          .selectFrom('review')
          .select('duo')
          .where('site_id', '=', `site-${site}`)
          .executeTakeFirstOrThrow();
        const duo = recorded.duo as { status: string; datasets: { status: string }[] };
        expect(await page.getByTestId('duo-status').first().getAttribute('data-status')).toBe(duo.status);
        expect(
          await page.getByTestId('duo-dataset').getByTestId('duo-status').getAttribute('data-status'),
        ).toBe(duo.datasets[0]!.status);
        // The linked query's counts for both hospitals, exactly as the hub holds them.
        const counts = page.getByTestId('review-feasibility').getByTestId('feasibility-site-count');
        await expect.poll(() => counts.count()).toBe(2);
        expect(await counts.allTextContents()).toEqual(
          feasibility.sites.map((s) =>
            s.answer
              ? typeof s.answer.finalCount === 'number'
                ? s.answer.finalCount.toLocaleString('en')
                : s.answer.finalCount
              : '–',
          ),
        );
        const before = page.getByTestId('vote-row');
        const votesBefore = await before.count();
        if (site === 1 && letter === 'a') {
          await page.getByLabel('판단').selectOption('approve_with_conditions');
          await page.getByLabel('조건', { exact: true }).fill('결과 공개 전 기관에 알릴 것');
        }
        await page.getByLabel('의견', { exact: true }).fill(`drb${site}-${letter} 의견`);
        await page.getByRole('button', { name: '투표하기' }).click();
        await expect.poll(() => page.getByTestId('vote-row').count()).toBe(votesBefore + 1);
        if (letter === 'c')
          await expect
            .poll(() => page.getByTestId('review-decision').getAttribute('data-decision'))
            .toBe(site === 1 ? 'approved_with_conditions' : 'approved');
        await page.context().close();
      }
    }
  }, 300_000);

  it('shows the signed permit to the researcher; a DRB member revokes it', async () => {
    const page = await signedIn('researcher@itda.demo');
    await page.goto(applicationPath);
    await expect
      .poll(() => page.getByTestId('application-state').getAttribute('data-state'))
      .toBe('approved');
    await page.getByTestId('permit-link').click();
    await page.waitForURL(/\/permits\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByTestId('permit-status').getAttribute('data-status')).toBe('active');
    expect(await page.getByTestId('permit-sites').textContent()).toContain('site-1, site-2');
    const permitId = await page.getByTestId('permit-id').textContent();
    const signed = JSON.parse((await page.getByTestId('permit-json').textContent())!) as {
      body: { permitId: string; conditions: { siteId: string; condition: string }[] };
      keyId: string;
      signature: string;
    };
    expect(signed.body.permitId).toBe(permitId);
    expect(signed.body.conditions).toEqual([{ siteId: 'site-1', condition: '결과 공개 전 기관에 알릴 것' }]);
    expect(await page.getByTestId('permit-key-id').textContent()).toBe(signed.keyId);
    expect(await page.getByTestId('permit-signature').textContent()).toBe(signed.signature);
    // The researcher may not revoke: no button.
    expect(await page.getByRole('button', { name: '허가 철회' }).count()).toBe(0);
    const permitPath = new URL(page.url()).pathname;
    await page.context().close();

    const reviewer = await signedIn('drb2-d@itda.demo');
    await reviewer.goto(permitPath);
    await reviewer.getByLabel('철회 사유').fill('IRB 승인 조건 위반 조사');
    await reviewer.getByRole('button', { name: '허가 철회' }).click();
    await expect
      .poll(() => reviewer.getByTestId('permit-status').getAttribute('data-status'))
      .toBe('revoked');
    expect(await reviewer.getByTestId('permit-revoked').textContent()).toContain('IRB 승인 조건 위반 조사');
    await reviewer.context().close();
  }, 180_000);

  it('lets the operator page through the audit log by actor and verify the chain', async () => {
    const page = await signedIn('admin@itda.demo');
    await page.getByRole('link', { name: '감사 기록' }).click();
    await page.waitForURL('**/admin/audit');
    await page.getByLabel('행위', { exact: true }).fill('permit.');
    await page.getByRole('button', { name: '검색' }).click();
    await expect
      .poll(() =>
        page.getByTestId('audit-entry').evaluateAll((rows) => rows.map((r) => r.children[3]?.textContent)),
      )
      .toEqual(['permit.issue', 'permit.revoke']);
    await page.getByRole('button', { name: '체인 검증' }).click();
    await expect.poll(() => page.getByTestId('audit-verdict').getAttribute('data-ok')).toBe('true');
    await page.context().close();
    expect(consoleErrors).toEqual([]);
  }, 120_000);
});
