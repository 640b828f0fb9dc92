import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Debian's Chromium, headless. Never skipped when missing: the page is only proven in a real browser (.ci/run installs it). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** The width of a loaded <img> (0 while loading); the tests' tsconfig has no DOM types. */
export const loadedWidth = (img: unknown): number => {
  const image = img as { complete: boolean; naturalWidth: number };
  return image.complete ? image.naturalWidth : 0;
};

export const quotaLine = (page: Page) => page.getByRole('status', { name: 'Your quota' });
/** The result panel: the image shown and the buttons under it (each recent image has its own). */
export const resultPanel = (page: Page) => page.getByRole('region', { name: 'Result' });
const resultImage = (page: Page, prompt: string) => resultPanel(page).getByRole('img', { name: new RegExp(`^Generated image: ${prompt}`) });
const shownImages = (page: Page, prompt: string) => page.getByRole('button', { name: new RegExp(`^Show image: ${prompt}`) });

/**
 * What a person does first, by the page's accessible labels: a prompt → an image, Reroll → a second image, the quota
 * line moving from `used` to `used + 2` of `daily`. Returns the Reroll's image source.
 */
export async function generateThenReroll(page: Page, prompt: string, daily: number, used = 0): Promise<void> {
  await expect.poll(() => quotaLine(page).textContent()).toContain(`You have used ${used} of ${daily} images today`);
  await page.getByLabel('Prompt', { exact: true }).fill(prompt);
  await page.getByLabel('Aspect ratio').selectOption('16:9');
  await page.getByRole('button', { name: 'Generate' }).click();

  const result = resultImage(page, prompt);
  await result.waitFor({ timeout: 30_000 });
  const first = await result.getAttribute('src');
  await expect.poll(() => result.evaluate(loadedWidth)).toBeGreaterThan(0);
  await expect.poll(() => quotaLine(page).textContent()).toContain(`You have used ${used + 1} of ${daily} images today`);
  expect(await page.getByRole('status').filter({ hasText: 'Done.' }).count()).toBe(1);

  await resultPanel(page).getByRole('button', { name: 'Reroll', exact: true }).click();
  await expect.poll(() => result.getAttribute('src'), { timeout: 30_000 }).not.toBe(first);
  await expect.poll(() => result.evaluate(loadedWidth)).toBeGreaterThan(0);
  await expect.poll(() => quotaLine(page).textContent()).toContain(`You have used ${used + 2} of ${daily} images today`);
  await expect.poll(() => shownImages(page, prompt).count()).toBe(2);
}

/**
 * Vary under the result (the image as reference, same prompt, new seed): a second image in its place, one more under
 * recent images, and one more image on the quota line.
 */
export async function varyResult(page: Page, prompt: string, daily: number, used: number): Promise<void> {
  const result = resultImage(page, prompt);
  const before = await result.getAttribute('src');
  const shown = await shownImages(page, prompt).count();
  await resultPanel(page).getByRole('button', { name: 'Vary', exact: true }).click();
  await expect.poll(() => result.getAttribute('src'), { timeout: 30_000 }).not.toBe(before);
  await expect.poll(() => result.evaluate(loadedWidth)).toBeGreaterThan(0);
  await expect.poll(() => quotaLine(page).textContent()).toContain(`You have used ${used + 1} of ${daily} images today`);
  await expect.poll(() => shownImages(page, prompt).count()).toBe(shown + 1);
}

/** Edit under the result: the dialog refuses an empty change at its field, then makes the edit on the chosen model. */
export async function editResult(page: Page, change: string, model: string): Promise<void> {
  await resultPanel(page).getByRole('button', { name: 'Edit', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit image' });
  await dialog.waitFor();
  expect(await dialog.getByLabel('Edit model').inputValue()).toBe('flux-2-pro');
  await dialog.getByRole('button', { name: 'Make the edit' }).click();
  await expect.poll(() => dialog.getByRole('alert').textContent()).toBe('Say what to change: the prompt must not be empty.');
  expect(await dialog.getByLabel('What to change').getAttribute('aria-invalid')).toBe('true');
  await dialog.getByLabel('What to change').fill(change);
  await dialog.getByLabel('Edit model').selectOption(model);
  await dialog.getByRole('button', { name: 'Make the edit' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const result = resultImage(page, change);
  await result.waitFor({ timeout: 30_000 });
  await expect.poll(() => result.evaluate(loadedWidth)).toBeGreaterThan(0);
  expect(await resultPanel(page).getByText(`${change} — ${model}`).count()).toBe(1);
}

/** An empty prompt: an error at the field, and (the caller checks the queue) nothing enqueued. */
export async function emptyPromptRefused(page: Page): Promise<void> {
  const prompt = page.getByLabel('Prompt', { exact: true });
  await prompt.fill('   ');
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect.poll(() => page.getByRole('alert').filter({ hasText: 'Prompt must not be empty.' }).count()).toBe(1);
  expect(await prompt.getAttribute('aria-invalid')).toBe('true');
}
