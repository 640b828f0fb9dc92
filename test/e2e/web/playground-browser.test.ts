import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editResult, emptyPromptRefused, generateThenReroll, launchChromium, loadedWidth, quotaLine, resultPanel, varyResult } from './page-flow.js';
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

describe('web playground in a browser, a gallery', () => {
  let app: Playground;
  let browser: Browser;
  beforeAll(async () => {
    app = await startPlayground({ quotas: { dailyPerUser: 10 } });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('Number of images 4 → four images shown together with Reroll, V1–V4, E1–E4, Delete; V2 varies image 2', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`http://localhost:${app.port}/`);
    await expect.poll(() => quotaLine(page).textContent()).toContain('You have used 0 of 10 images today');
    await page.getByLabel('Prompt', { exact: true }).fill('four paper cranes');
    await page.getByLabel('Number of images', { exact: true }).fill('4');
    await page.getByRole('button', { name: 'Generate' }).click();

    const shown = resultPanel(page).getByRole('img', { name: /^Generated image \d of 4: four paper cranes/ });
    await expect.poll(() => shown.count(), { timeout: 30_000 }).toBe(4);
    for (const img of await shown.all()) await expect.poll(() => img.evaluate(loadedWidth)).toBeGreaterThan(0);
    const sources = await Promise.all((await shown.all()).map((img) => img.getAttribute('src')));
    expect(new Set(sources).size).toBe(4);
    await expect.poll(() => quotaLine(page).textContent()).toContain('You have used 4 of 10 images today');
    expect(await resultPanel(page).getByRole('status').textContent()).toMatch(/^Done\./);
    const group = resultPanel(page).getByRole('group', { name: 'Actions for these images' });
    expect(await group.getByRole('button').allTextContents()).toEqual(['Reroll', 'V1', 'V2', 'V3', 'V4', 'E1', 'E2', 'E3', 'E4', 'Delete']);
    const second = await page.request.get(new URL(sources[1]!, page.url()).toString());
    const secondBytes = await second.body();

    await group.getByRole('button', { name: 'V2', exact: true }).click();
    const varied = resultPanel(page).getByRole('img', { name: /^Generated image: four paper cranes/ });
    await varied.waitFor({ timeout: 30_000 });
    await expect.poll(() => varied.evaluate(loadedWidth)).toBeGreaterThan(0);
    expect(await shown.count()).toBe(0);
    await expect.poll(() => quotaLine(page).textContent()).toContain('You have used 5 of 10 images today');
    const jobs = await app.core.queue.getJobs(['completed']);
    const vary = jobs.find((j) => j.data.request.images?.length);
    const input = await app.core.inputs.resolve(vary!.data.request);
    expect(input.images).toHaveLength(1);
    expect(Buffer.from(input.images![0]!.replace(/^data:image\/[a-z]+;base64,/, ''), 'base64').equals(secondBytes)).toBe(true);
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, '-gallery.png'), fullPage: true });
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
