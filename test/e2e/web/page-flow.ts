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
const loadedWidth = (img: unknown): number => {
  const image = img as { complete: boolean; naturalWidth: number };
  return image.complete ? image.naturalWidth : 0;
};

export const quotaLine = (page: Page) => page.getByRole('status', { name: 'Your quota' });

/**
 * What a person does first, by the page's accessible labels: a prompt → an image, Reroll → a second image, the quota
 * line moving from `used` to `used + 2` of `daily`. Returns the Reroll's image source.
 */
export async function generateThenReroll(page: Page, prompt: string, daily: number, used = 0): Promise<void> {
  await expect.poll(() => quotaLine(page).textContent()).toContain(`You have used ${used} of ${daily} images today`);
  await page.getByLabel('Prompt', { exact: true }).fill(prompt);
  await page.getByLabel('Aspect ratio').selectOption('16:9');
  await page.getByRole('button', { name: 'Generate' }).click();

  const result = page.getByRole('img', { name: new RegExp(`^Generated image: ${prompt}`) });
  await result.waitFor({ timeout: 30_000 });
  const first = await result.getAttribute('src');
  await expect.poll(() => result.evaluate(loadedWidth)).toBeGreaterThan(0);
  await expect.poll(() => quotaLine(page).textContent()).toContain(`You have used ${used + 1} of ${daily} images today`);
  expect(await page.getByRole('status').filter({ hasText: 'Done.' }).count()).toBe(1);

  await page.getByRole('button', { name: 'Reroll' }).click();
  await expect.poll(() => result.getAttribute('src'), { timeout: 30_000 }).not.toBe(first);
  await expect.poll(() => result.evaluate(loadedWidth)).toBeGreaterThan(0);
  await expect.poll(() => quotaLine(page).textContent()).toContain(`You have used ${used + 2} of ${daily} images today`);
  await expect.poll(() => page.getByRole('button', { name: new RegExp(`^Show image: ${prompt}`) }).count()).toBe(2);
}

/** An empty prompt: an error at the field, and (the caller checks the queue) nothing enqueued. */
export async function emptyPromptRefused(page: Page): Promise<void> {
  const prompt = page.getByLabel('Prompt', { exact: true });
  await prompt.fill('   ');
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect.poll(() => page.getByRole('alert').filter({ hasText: 'Prompt must not be empty.' }).count()).toBe(1);
  expect(await prompt.getAttribute('aria-invalid')).toBe('true');
}
