/**
 * The catalog page in a real browser against the demo network: a Korean search finds a
 * seeded hospital dataset, its detail and history open, and a steward saves a new version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPage } from './support/browser.ts';
import { startTestDemo, type TestDemo } from './support/demo.ts';

describe('catalog page', () => {
  let network: TestDemo;
  beforeAll(async () => {
    network = await startTestDemo('itda-catalog-web-', { buildWeb: true });
  }, 240_000);
  afterAll(async () => {
    await network?.dispose();
  });

  it('seeds one dataset per demo site and the hub vocabulary on first start', async () => {
    const { db } = network.hub.ctx;
    const datasets = await db
      .selectFrom('dataset')
      .select(['site_id', 'title_ko'])
      .orderBy('site_id')
      .execute();
    expect(datasets.map((d) => d.site_id)).toEqual(['site-1', 'site-2', 'site-3']);
    expect(datasets[0]!.title_ko).toBe('서울하늘병원 전자의무기록 (OMOP CDM)');
    const kcd7 = await db
      .selectFrom('concept')
      .select('concept_name')
      .where('vocabulary_id', '=', 'KCD7')
      .where('concept_code', '=', 'E11.9')
      .executeTakeFirst();
    expect(kcd7?.concept_name).toMatch(/당뇨병/);
  });

  it('searches in Korean, opens a dataset with its history, and saves a new version as steward', async () => {
    await withPage(network.url, async (page, consoleErrors) => {
      await page.goto('/login');
      await page.getByLabel('이메일').fill('steward1@itda.demo');
      await page.getByLabel('비밀번호').fill('itda-demo');
      await page.getByRole('button', { name: '로그인' }).click();
      await page.waitForURL((url) => url.pathname === '/');

      await page.getByRole('link', { name: '데이터 카탈로그' }).click();
      await page.waitForURL('**/catalog');
      const hits = page.getByTestId('catalog-hit');
      await expect.poll(() => hits.count(), { timeout: 15_000 }).toBe(3);

      // "부산" is part of "부산바다병원": only that hospital's dataset matches.
      await page.getByLabel('데이터셋 검색').fill('부산');
      await page.getByRole('button', { name: '검색' }).click();
      await expect.poll(() => page.getByTestId('catalog-total').textContent()).toBe('1개 데이터셋');
      expect(await hits.count()).toBe(1);
      expect(await hits.first().textContent()).toContain('부산바다병원 전자의무기록');

      await page.getByLabel('데이터셋 검색').fill('서울하늘');
      await page.getByRole('button', { name: '검색' }).click();
      await expect.poll(() => hits.first().textContent()).toContain('서울하늘병원');
      await hits.first().getByRole('link').click();
      await page.waitForURL(/\/catalog\/[0-9a-f-]{36}$/);
      await expect
        .poll(() => page.getByTestId('dataset-title').textContent())
        .toBe('서울하늘병원 전자의무기록 (OMOP CDM)');
      expect(await page.getByTestId('dataset-version').count()).toBe(1);

      // steward1 stewards site-1, so may save a new version.
      await page.getByRole('link', { name: '새 버전 저장' }).click();
      await page.waitForURL(/\/edit$/);
      const title = page.getByLabel('제목 (한국어)');
      await expect.poll(() => title.inputValue()).toBe('서울하늘병원 전자의무기록 (OMOP CDM)');
      await title.fill('서울하늘병원 당뇨병 코호트');
      await page.getByRole('button', { name: '저장' }).click();
      await page.waitForURL(/\/catalog\/[0-9a-f-]{36}$/);
      await expect
        .poll(() => page.getByTestId('dataset-title').textContent())
        .toBe('서울하늘병원 당뇨병 코호트');
      await expect.poll(() => page.getByTestId('dataset-version').count()).toBe(2);

      // The old version stays readable.
      await page.getByRole('button', { name: '보기' }).click();
      await expect.poll(() => page.getByTestId('old-version').textContent()).toContain('버전 1');
      expect(await page.getByTestId('dataset-title').textContent()).toBe(
        '서울하늘병원 전자의무기록 (OMOP CDM)',
      );

      // "당뇨" now finds the renamed dataset (n-gram match on 당뇨병), in English too.
      await page.getByRole('link', { name: '← 카탈로그' }).click();
      await page.getByLabel('데이터셋 검색').fill('당뇨');
      await page.getByRole('button', { name: '검색' }).click();
      await expect.poll(() => page.getByTestId('catalog-total').textContent()).toBe('1개 데이터셋');
      await page.getByText('English').click();
      await expect.poll(() => page.getByTestId('catalog-total').textContent()).toBe('1 datasets');

      // A condition from the hub's vocabulary, found in Korean: KCD-7's name maps to SNOMED.
      // No demo site's profile counts it yet (no patients loaded), so nothing matches.
      await page.getByTestId('catalog-condition').getByRole('textbox').fill('2형 당뇨');
      const conceptHit = page
        .getByTestId('concept-hits')
        .getByRole('button', { name: /Type 2 diabetes mellitus/ });
      await conceptHit.first().click();
      await expect.poll(() => page.getByTestId('picked-concept').textContent()).toContain('201826');
      await expect.poll(() => page.getByTestId('catalog-total').textContent()).toBe('0 datasets');
      await page.getByTestId('picked-concept').getByRole('button').click();
      await expect.poll(() => page.getByTestId('catalog-total').textContent()).toBe('1 datasets');
      await page.screenshot({ path: `${network.dir}/catalog.png`, fullPage: true });
      // The one 401 is the session check on the login page, before signing in.
      expect(consoleErrors.filter((e) => !/401/.test(e))).toEqual([]);
    });
  }, 120_000);
});
