import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editResult, emptyPromptRefused, generateThenReroll, launchChromium, quotaLine, resultPanel, varyResult } from './page-flow.js';
import { startPlayground, type Playground } from './playground.js';

/** Where a screenshot of the finished page goes, for a person to look at (CI keeps nothing). */
const SCREENSHOT = process.env.PLAYGROUND_SCREENSHOT;

/** The playground page in headless Chromium, driven by its accessible labels as a person would use it. */
describe('web playground in a browser', () => {
  let app: Playground;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    app = await startPlayground({ latencyMs: 300 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    // localhost, as the README says to open it (the page refuses other host names without a token).
    await page.goto(`http://localhost:${app.port}/`);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });


  it('prompt → image, Reroll → a second image, and the quota line moves', async () => {
    await generateThenReroll(page, 'a lighthouse at dawn', 5);
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('an empty prompt shows an error at the field and enqueues nothing', async () => {
    const counts = await app.core.queue.getJobCounts();
    await emptyPromptRefused(page);
    expect(await app.core.queue.getJobCounts()).toEqual(counts);
    expect(await quotaLine(page).textContent()).toContain('You have used 2 of 5 images today');
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, '-error.png') });
  });

  it('every image has Reroll, Edit, Vary and Delete; Vary and Edit make new images, Delete removes one', async () => {
    const groups = page.getByRole('group', { name: /^Actions for image: a lighthouse at dawn/ });
    expect(await groups.count()).toBe(2);
    for (const group of await groups.all()) {
      expect(await group.getByRole('button').allTextContents()).toEqual(['Reroll', 'Edit', 'Vary', 'Delete']);
    }
    await varyResult(page, 'a lighthouse at dawn', 5, 2);
    await editResult(page, 'paint the lighthouse red', 'flux-kontext-pro');
    await expect.poll(() => quotaLine(page).textContent()).toContain('You have used 4 of 5 images today');
    const images = page.getByRole('button', { name: /^Show image: / });
    await expect.poll(() => images.count()).toBe(4);
    await resultPanel(page).getByRole('button', { name: 'Delete', exact: true }).click();
    await expect.poll(() => images.count()).toBe(3);
    expect(await resultPanel(page).getByRole('img').count()).toBe(0);
    expect(await resultPanel(page).getByRole('status').textContent()).toBe('Deleted.');
    expect(await page.getByRole('button', { name: /^Show image: paint the lighthouse red/ }).count()).toBe(0);
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, '-actions.png'), fullPage: true });
  });

  it('labels every control of the form generated from the command definitions', async () => {
    await page.getByText('More options').click();
    for (const name of ['Model', 'Aspect ratio', 'Image prompt', 'Image prompt link', 'Steps', 'Guidance', 'Seed', 'Safety tolerance', 'Output format', 'Prompt upsampling']) {
      expect(await page.getByLabel(name, { exact: true }).count(), name).toBe(1);
    }
    expect(await page.getByLabel('Steps', { exact: true }).getAttribute('max')).toBe('50');
    const models = await page.getByLabel('Model', { exact: true }).locator('option').allTextContents();
    expect(models).toContain('flux-2-pro (default)');
    expect(models).toContain('flux-schnell');
  });
});

describe('web playground in a browser, with PLAYGROUND_TOKEN', () => {
  let app: Playground;
  let browser: Browser;
  beforeAll(async () => {
    app = await startPlayground({ token: 'browser-test-token-0123456789' });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('asks for the token first: a wrong one is refused, the right one opens the form', async () => {
    const page = await browser.newPage();
    // Any host name works with a token: 127.0.0.1 here.
    await page.goto(`http://127.0.0.1:${app.port}/`);
    await page.getByLabel('Token').fill('not the token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'That token is not right.' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Generate' }).isVisible()).toBe(false);
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, '-signin.png') });
    await page.getByLabel('Token').fill('browser-test-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Generate' }).waitFor();
    await expect.poll(() => quotaLine(page).textContent()).toContain('You have used 0 of 5 images today');
  });
});

describe('web playground in a browser, a slow job', () => {
  let app: Playground;
  let browser: Browser;
  beforeAll(async () => {
    app = await startPlayground({ latencyMs: 20_000, concurrency: 1 });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows Cancel while the job is under way; Cancel stops it and nothing is charged', async () => {
    const page = await browser.newPage();
    await page.goto(`http://localhost:${app.port}/`);
    await expect.poll(() => quotaLine(page).textContent()).toContain('You have used 0 of 5 images today');
    await page.getByLabel('Prompt', { exact: true }).fill('a slow sunrise');
    await page.getByRole('button', { name: 'Generate' }).click();
    const cancel = resultPanel(page).getByRole('button', { name: 'Cancel', exact: true });
    await cancel.waitFor();
    await cancel.click();
    await expect.poll(() => resultPanel(page).getByRole('status').textContent(), { timeout: 15_000 }).toMatch(/cancel/i);
    await cancel.waitFor({ state: 'hidden', timeout: 15_000 });
    // Read again from the server: refunded, nothing in progress.
    await page.reload();
    await expect.poll(() => quotaLine(page).textContent()).toMatch(/You have used 0 of 5 images today.*In progress: 0 of/);
    expect(await resultPanel(page).getByRole('img').count()).toBe(0);
  });
});
