import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const PLATFORM_LIBS = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](discord\.js|@discordjs\/[^'"]+|@slack\/[^'"]+)['"]/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('architecture boundary', () => {
  it('src/core and src/commands never import a platform library', () => {
    const files = [...sourceFiles('src/core'), ...sourceFiles('src/commands')];
    expect(files.length).toBeGreaterThan(5);
    const offenders = files.filter((f) => PLATFORM_LIBS.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the check itself catches static, dynamic and scoped imports', () => {
    expect(PLATFORM_LIBS.test("import { Client } from 'discord.js';")).toBe(true);
    expect(PLATFORM_LIBS.test("const m = await import('@slack/bolt');")).toBe(true);
    expect(PLATFORM_LIBS.test("import type { X } from '@discordjs/rest';")).toBe(true);
    expect(PLATFORM_LIBS.test("import { z } from 'zod';")).toBe(false);
  });

  it('nothing but src/config.ts reads process.env', () => {
    const offenders = sourceFiles('src').filter((f) => !f.endsWith('config.ts') && /process\.env/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
