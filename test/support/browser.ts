/**
 * Headless Chromium from Debian, driven by playwright-core. A browser is never
 * downloaded: without /usr/bin/chromium the tests say how to install it.
 */
import fs from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.ITDA_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: install Debian's Chromium (apt-get install chromium) or set ITDA_CHROMIUM`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Opens a page on `baseUrl`, runs `fn`, and closes everything even when `fn` throws.
 * Console errors of the page are collected so a test can assert there were none.
 */
export async function withPage<T>(
  baseUrl: string,
  fn: (page: Page, consoleErrors: string[]) => Promise<T>,
  options: { locale?: string } = {},
): Promise<T> {
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ baseURL: baseUrl, locale: options.locale ?? 'ko-KR' });
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    return await fn(page, consoleErrors);
  } finally {
    await browser.close();
  }
}

/** Signs in through the login page (Korean labels) and waits for the dashboard. */
export async function signInThroughUi(page: Page, email: string, password = 'itda-demo'): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('이메일').fill(email);
  await page.getByLabel('비밀번호').fill(password);
  await page.getByRole('button', { name: '로그인' }).click();
  await page.waitForURL((url) => url.pathname === '/');
}
