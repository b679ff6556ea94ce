/**
 * The web UI in a real browser against the demo network.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOmopCsv } from '../src/site/ingest/omop-csv.ts';
import { withPage } from './support/browser.ts';
import { startTestDemo, type TestDemo } from './support/demo.ts';

const EUNOMIA = path.resolve(import.meta.dirname, '../../shared/data/eunomia-synthea27nj-5.4');

describe('web UI', () => {
  let network: TestDemo;
  beforeAll(async () => {
    network = await startTestDemo('itda-web-', { buildWeb: true });
    // Give one hospital real OMOP data (Eunomia), as a site with an existing OMOP database would have.
    const site = network.sites.get('site-1')!;
    await site.reportsPublished();
    await loadOmopCsv(site.store, EUNOMIA, { quarantineDir: path.join(network.dir, 'quarantine') });
    await site.publishReports();
  });
  afterAll(async () => {
    await network?.dispose();
  });

  it('signs in and shows the connected sites on the dashboard, in Korean and English', async () => {
    await withPage(network.url, async (page, consoleErrors) => {
      await page.goto('/');
      await page.waitForURL('**/login');
      await page.getByLabel('이메일').fill('admin@itda.demo');
      await page.getByLabel('비밀번호').fill('wrong-password');
      await page.getByRole('button', { name: '로그인' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('e-mail or password is wrong');

      await page.getByLabel('비밀번호').fill('itda-demo');
      await page.getByRole('button', { name: '로그인' }).click();
      await page.waitForURL((url) => url.pathname === '/');
      const rows = page.getByTestId('site-row');
      await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(3);
      expect(
        await rows.evaluateAll((els) =>
          els.map((e) => [e.getAttribute('data-site-id'), e.getAttribute('data-connected')]),
        ),
      ).toEqual([
        ['site-1', 'true'],
        ['site-2', 'true'],
        ['site-3', 'true'],
      ]);
      expect(await page.getByTestId('connected-count').textContent()).toBe('3 / 3');
      expect(await page.locator('html').getAttribute('lang')).toBe('ko');
      expect(await rows.first().textContent()).toContain('연결됨');

      await page.getByText('English').click();
      await expect.poll(() => rows.first().textContent()).toContain('Connected');
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      await page.screenshot({ path: `${network.dir}/dashboard.png`, fullPage: true });

      // A site page: its published quality report and profile.
      await page.getByRole('link', { name: /Seoul Haneul/ }).click();
      await page.waitForURL('**/sites/site-1');
      await expect
        .poll(() => page.getByTestId('profile-persons').textContent(), { timeout: 15_000 })
        .toBe('Persons: 28');
      expect(
        Number((await page.getByTestId('quality-percent').textContent())!.replace('%', '')),
      ).toBeGreaterThan(50);
      expect(await page.getByTestId('quality-category').count()).toBeGreaterThanOrEqual(3);
      const failing = await page.getByTestId('failing-check').count();
      expect(failing).toBeGreaterThan(0);
      await page.getByLabel('Search').fill('isForeignKey');
      await expect.poll(() => page.getByTestId('failing-check').count()).toBeLessThan(failing);
      for (const chart of ['chart-pyramid', 'chart-over-time', 'chart-conditions']) {
        expect(await page.getByTestId(chart).locator('canvas').count(), chart).toBe(1);
      }
      await page.screenshot({ path: `${network.dir}/site.png`, fullPage: true });
      // Every demo site's page shows what that site published.
      for (const id of ['site-2', 'site-3']) {
        await page.goto(`/sites/${id}`);
        await expect
          .poll(() => page.getByTestId('quality-category').count(), { timeout: 15_000 })
          .toBeGreaterThan(0);
        expect(await page.getByTestId('profile-persons').textContent()).toBe('Persons: 0');
      }

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL('**/login');
      // A 401 from /api/auth/me is expected on the login page; nothing else may fail.
      expect(consoleErrors.filter((e) => !/401/.test(e))).toEqual([]);
    });
  });
});
