/**
 * The feasibility page in a real browser against the demo network: a cohort built in the
 * builder (concept id typed in, age, an exclusion found through concept search) and one
 * pasted as ATLAS JSON are counted at every site; per-site results, "<10", a stopped site
 * as not answering, the chart, attrition and the query history show on the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCohort } from '../src/cohort/builder.ts';
import {
  COMMON_CONDITION,
  loadFeasibilityFixture,
  rareCondition,
} from '../src/site/feasibility/test-fixture.ts';
import { withPage } from './support/browser.ts';
import { startTestDemo, type TestDemo } from './support/demo.ts';

/** Persons per site (see test-fixture.ts): 65+ with the common condition, younger ones, the rare condition. */
const FIXTURES = {
  'site-1': { old: 33, young: 4, rare: 3 },
  'site-2': { old: 21, young: 2, rare: 0 },
  'site-3': { old: 0, young: 8, rare: 16 },
} as const;

describe('feasibility page', () => {
  let network: TestDemo;
  beforeAll(async () => {
    network = await startTestDemo('itda-feasibility-web-', { buildWeb: true, patients: 30 });
    for (const [siteId, sizes] of Object.entries(FIXTURES))
      await loadFeasibilityFixture(network.sites.get(siteId)!.store, sizes, 700_000_000);
  }, 600_000);
  afterAll(async () => {
    await network?.dispose();
  });

  it('builds a cohort, counts it at every site and shows per-site results and history', async () => {
    await withPage(
      network.url,
      async (page, consoleErrors) => {
        page.setDefaultTimeout(20_000);
        await page.goto('/login');
        await page.getByLabel('E-mail').fill('researcher@itda.demo');
        await page.locator('input[type=password]').fill('itda-demo');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL((url) => url.pathname === '/');
        // Before signing in, the app's "who am I" call is answered 401; count what comes after.
        const errorsBefore = consoleErrors.length;
        await page.getByRole('link', { name: 'Feasibility' }).click();
        await page.waitForURL('**/feasibility');

        // Entry: the fixture's condition by concept id; age 65 or older.
        const entry = page.getByTestId('entry-event');
        await entry.getByLabel('Concepts').fill(String(COMMON_CONDITION));
        await entry.getByLabel('Concepts').press('Enter');
        await expect
          .poll(() => entry.getByTestId('picked-concept').textContent())
          .toBe(String(COMMON_CONDITION));
        await page.getByLabel('Age at index ≥').fill('65');
        // Exclusion: atrial fibrillation any time, picked through the hub's concept search.
        await page.getByRole('button', { name: 'Add criterion' }).nth(1).click();
        const exclusion = page.getByTestId('exclude-rule');
        await exclusion.getByLabel('Domain').click();
        await page.getByRole('option', { name: 'Condition' }).click();
        await exclusion.getByLabel('Concepts').fill('atrial fib');
        await exclusion
          .getByRole('button', { name: /Atrial fibrillation/ })
          .first()
          .click();
        await expect
          .poll(() => exclusion.getByTestId('picked-concept').textContent())
          .toMatch(/^Atrial fibrillation \(\d+\)$/);
        const afConceptId = Number(
          /\((\d+)\)/.exec((await exclusion.getByTestId('picked-concept').textContent())!)![1],
        );

        // The page's Circe JSON is exactly what src/cohort/builder.ts writes for the same choices.
        await page.getByText('Show Circe JSON').click();
        expect(JSON.parse((await page.getByTestId('circe-json').textContent())!)).toEqual(
          buildCohort({
            entry: [{ domain: 'condition', conceptIds: [COMMON_CONDITION] }],
            age: { min: 65 },
            exclude: [{ domain: 'condition', conceptIds: [afConceptId], label: 'Atrial fibrillation' }],
          }),
        );

        await page.getByRole('button', { name: 'Count at every site' }).click();
        const results = page.getByTestId('feasibility-results');
        await expect.poll(() => results.getAttribute('data-status'), { timeout: 60_000 }).toBe('complete');
        const siteRows = results.getByTestId('feasibility-site');
        const perSite = () =>
          siteRows.evaluateAll((rows) =>
            rows.map((r) => [
              r.getAttribute('data-site-id'),
              r.getAttribute('data-site-status'),
              r.querySelector('[data-testid="feasibility-site-count"]')?.textContent,
            ]),
          );
        // 33 → 30, 21 → 20, 0 → 0, as the counts left the sites.
        expect(await perSite()).toEqual([
          ['site-1', 'answered', '30'],
          ['site-2', 'answered', '20'],
          ['site-3', 'answered', '0'],
        ]);
        expect(await results.getByTestId('feasibility-total').textContent()).toContain('Total: 50');
        // Attrition: 37, 23 and 8 persons have the condition; 33, 21 and 0 of them are 65 or older.
        const attrition = await results
          .getByTestId('feasibility-attrition')
          .locator('tbody tr')
          .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
        expect(attrition).toEqual([
          ['Entry events', '40', '20', '<10'],
          ['1. Age 65+', '30', '20', '0'],
          ['2. No Atrial fibrillation during observation', '30', '20', '0'],
        ]);
        expect(await results.getByTestId('feasibility-chart').locator('canvas').count()).toBe(1);

        // A pasted ATLAS definition: few persons at site-1 come back as "<10".
        await page.getByRole('tab', { name: 'Paste ATLAS JSON' }).click();
        await page.getByLabel('Circe cohort definition (ATLAS export)').fill(JSON.stringify(rareCondition()));
        await page.getByRole('button', { name: 'Count at every site' }).click();
        await expect
          .poll(async () => (await perSite()).map((r) => r[2]), { timeout: 60_000 })
          .toEqual(['<10', '0', '20']);
        expect(await results.getAttribute('data-status')).toBe('complete');
        expect(await results.getByTestId('feasibility-total').textContent()).toContain('≥ 21');

        // History: both queries; opening the first shows its results again.
        const history = page.getByTestId('feasibility-history-row');
        await expect.poll(() => history.count()).toBe(2);
        await history.nth(1).click();
        await expect.poll(async () => (await perSite()).map((r) => r[2])).toEqual(['30', '20', '0']);

        // A stopped site is shown as not answering once the wait is over; the others' counts stay.
        await network.stopSite('site-3');
        await page.getByRole('tab', { name: 'Cohort builder' }).click();
        await page.getByLabel('Wait for sites (s)').fill('3');
        await page.getByRole('button', { name: 'Count at every site' }).click();
        await expect.poll(() => history.count()).toBe(3);
        await expect.poll(() => results.getAttribute('data-status'), { timeout: 60_000 }).toBe('complete');
        expect(await perSite()).toEqual([
          ['site-1', 'answered', '30'],
          ['site-2', 'answered', '20'],
          ['site-3', 'not_answering', '–'],
        ]);
        expect(await siteRows.nth(2).textContent()).toContain('Not answering');

        // Korean too.
        await page.getByText('한국어').click();
        await expect
          .poll(() => page.getByRole('heading', { level: 2 }).textContent())
          .toBe('실현 가능성 조회');
        expect(await siteRows.first().textContent()).toContain('응답함');
        expect(await siteRows.nth(2).textContent()).toContain('응답 없음');
        await page.screenshot({ path: `${network.dir}/feasibility.png`, fullPage: true });
        expect(consoleErrors.slice(errorsBefore)).toEqual([]);
      },
      { locale: 'en-US' },
    );
  }, 300_000);
});
