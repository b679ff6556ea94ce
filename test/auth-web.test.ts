/**
 * The account pages in a real browser: an admin gives a user a site role and adds an
 * organisation; a researcher creates an API key (shown once), uses it, and revokes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../src/cli/demo.ts';
import type { PublicUser } from '../src/hub/auth/service.ts';
import { signInThroughUi, withPage } from './support/browser.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { signIn } from './support/session.ts';

describe('account pages', () => {
  let hub: TestHub;
  let url: string;

  beforeAll(async () => {
    await ensureWebBuilt();
    hub = (await startTestHub('pglite', { seedDemoAccounts: true }))!;
    await hub.ctx.db
      .insertInto('site')
      .values({
        id: 'site-1',
        name: '서울하늘병원',
        public_key: 'test-key',
        status: 'approved',
        software: 'test',
      })
      .execute();
    url = await hub.listen();
  }, 240_000);
  afterAll(async () => {
    await hub?.dispose();
  });

  it('lets an admin give a user a site role and add an organisation', async () => {
    await withPage(url, async (page, consoleErrors) => {
      await signInThroughUi(page, 'admin@itda.demo');
      await page.getByRole('link', { name: '사용자 관리' }).click();
      await page.waitForURL('**/admin/users');
      const row = page.locator('[data-testid="user-row"][data-email="company@itda.demo"]');
      await row.getByRole('button', { name: '수정' }).click();
      const editor = page.getByTestId('user-editor');
      await editor.getByLabel('기관', { exact: true }).click();
      await page.getByRole('option', { name: /site-1/ }).click();
      await editor.getByRole('button', { name: '역할 추가' }).click();
      await expect.poll(() => editor.getByTestId('site-role').count()).toBe(1);
      await editor.getByRole('button', { name: '저장' }).click();
      await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('site-1 · 데이터 담당자');

      const company = await (await signIn(url, 'company@itda.demo')).json<{ user: PublicUser }>(
        'GET',
        '/api/auth/me',
      );
      expect(company.body.user.siteRoles).toEqual([{ siteId: 'site-1', role: 'steward' }]);

      await page.getByRole('link', { name: '기관 관리' }).click();
      await page.waitForURL('**/admin/organisations');
      await page.getByLabel('기관 ID').fill('gwangju-clinic');
      await page.getByLabel('이름 (한국어)').fill('광주빛의원');
      await page.getByLabel('이름 (영어)').fill('Gwangju Bit Clinic');
      await page.getByRole('button', { name: '기관 추가' }).click();
      await expect
        .poll(() => page.locator('[data-testid="org-row"][data-org-id="gwangju-clinic"]').textContent())
        .toContain('광주빛의원');
      // The signed-out start asks /api/auth/me once and gets 401; nothing else may fail.
      expect(consoleErrors.filter((e) => !/401/.test(e))).toEqual([]);
    });
  });

  it('lets a researcher create, use and revoke an API key, in English too', async () => {
    await withPage(url, async (page, consoleErrors) => {
      await signInThroughUi(page, 'researcher@itda.demo');
      // Admin links are not offered to a researcher.
      expect(await page.getByRole('link', { name: '사용자 관리' }).count()).toBe(0);
      await page.getByRole('link', { name: 'API 키' }).click();
      await page.waitForURL('**/account/keys');
      await page.getByText('English').click();
      await page.getByLabel('Name').fill('nightly export');
      await page.getByRole('button', { name: 'Create API key' }).click();
      const token =
        (await page.getByTestId('new-api-key').locator('pre, code').first().textContent())?.trim() ?? '';
      expect(token).toMatch(/^itda_[0-9a-f]{16}_/);
      const me = await fetch(`${url}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(200);

      const keyRow = page.getByTestId('api-key-row').filter({ hasText: 'nightly export' });
      expect(await keyRow.getAttribute('data-state')).toBe('active');
      await keyRow.getByRole('button', { name: 'Revoke' }).click();
      await expect.poll(() => keyRow.getAttribute('data-state')).toBe('revoked');
      expect(
        (await fetch(`${url}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(401);
      // The signed-out start asks /api/auth/me once and gets 401; nothing else may fail.
      expect(consoleErrors.filter((e) => !/401/.test(e))).toEqual([]);
    });
  });
});
