/**
 * The matching board and the inbox in a real browser on the demo network: a researcher
 * posts a data need and sees the ranked sites with their breakdown, the steward of a
 * matched site sees it and responds, and the researcher finds the response in the inbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInThroughUi, withPage } from './support/browser.ts';
import { startTestDemo, type TestDemo } from './support/demo.ts';

describe('matching board and inbox', () => {
  let network: TestDemo;
  beforeAll(async () => {
    network = await startTestDemo('itda-matching-web-', { buildWeb: true });
  }, 240_000);
  afterAll(async () => {
    await network?.dispose();
  });

  it('researcher posts a need, the steward responds, the researcher reads it in the inbox', async () => {
    let needPath = '';
    await withPage(network.url, async (page, consoleErrors) => {
      await signInThroughUi(page, 'researcher@itda.demo');
      await page.getByRole('link', { name: '수요-공급 매칭' }).click();
      await page.waitForURL('**/matching');
      await page.getByLabel('제목 (한국어)').fill('외래 전자의무기록 수요');
      await page.getByLabel('제목 (영어)').fill('Outpatient EHR need');
      await page.getByLabel('전자의무기록').check();
      await page.getByRole('button', { name: '수요 등록' }).click();
      await page.waitForURL(/\/matching\/[0-9a-f-]{36}$/);
      needPath = new URL(page.url()).pathname;
      const rows = page.getByTestId('match-row');
      await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(3);
      const sites = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-site')));
      expect([...sites].sort()).toEqual(['site-1', 'site-2', 'site-3']);
      expect(await rows.first().textContent()).toContain('매칭');
      expect(await page.getByTestId('need-state').textContent()).toBe('열림');
      expect(consoleErrors.filter((e) => !/401/.test(e))).toEqual([]); // the signed-out check of /api/auth/me
    });

    await withPage(network.url, async (page, consoleErrors) => {
      await signInThroughUi(page, 'steward1@itda.demo');
      // The need was matched to site-1: its steward has a notification and the need on the board.
      await expect.poll(() => page.getByTestId('inbox-unread').textContent(), { timeout: 20_000 }).toBe('1');
      await page.getByRole('link', { name: '수요-공급 매칭' }).click();
      await page.getByTestId('need-row').getByRole('link', { name: '외래 전자의무기록 수요' }).click();
      await page.waitForURL(`**${needPath}`);
      // A steward sees only the matches of their own site.
      await expect.poll(() => page.getByTestId('match-row').count()).toBe(1);
      await page.getByLabel('메시지').fill('참여 가능합니다');
      await page.getByRole('button', { name: '응답 보내기' }).click();
      await expect.poll(() => page.getByTestId('response-row').count()).toBe(1);
      expect(await page.getByTestId('response-row').textContent()).toContain('관심 있음');
      await expect.poll(() => page.getByTestId('need-state').textContent()).toBe('매칭됨');
      expect(consoleErrors.filter((e) => !/401/.test(e))).toEqual([]); // the signed-out check of /api/auth/me
    });

    await withPage(network.url, async (page, consoleErrors) => {
      await signInThroughUi(page, 'researcher@itda.demo');
      await expect.poll(() => page.getByTestId('inbox-unread').textContent(), { timeout: 20_000 }).toBe('1');
      await page.getByRole('link', { name: /알림함/ }).click();
      await page.waitForURL('**/inbox');
      const notification = page.getByTestId('notification').first();
      await expect.poll(() => notification.textContent()).toContain('site-1 기관이 수요에 응답했습니다');
      expect(await notification.textContent()).toContain('참여 가능합니다');
      await notification.getByRole('button', { name: '열기' }).click();
      await page.waitForURL(`**${needPath}`);
      expect(await page.getByTestId('response-row').textContent()).toContain('참여 가능합니다');
      await expect.poll(() => page.getByTestId('inbox-unread').count()).toBe(0);
      expect(consoleErrors.filter((e) => !/401/.test(e))).toEqual([]); // the signed-out check of /api/auth/me
    });
  }, 180_000);
});
