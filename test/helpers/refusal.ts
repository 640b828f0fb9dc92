import { expect } from 'vitest';
import { UnsupportedByProvider } from '../../src/core/errors.js';

/** Runs a provider's parameter mapping that must refuse; returns the UnsupportedByProvider it threw. */
export function expectUnsupported(fn: () => unknown): UnsupportedByProvider {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UnsupportedByProvider);
    return err as UnsupportedByProvider;
  }
  throw new Error('expected the mapping to refuse with UnsupportedByProvider');
}
