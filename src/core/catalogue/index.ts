import type { ModelId } from '../models.js';
import { FLUX_DEV, FLUX_SCHNELL } from './flux-1-open.js';
import { FLUX_1_1_PRO, FLUX_1_1_PRO_ULTRA, FLUX_PRO } from './flux-1-pro.js';
import { FLUX_2_DEV, FLUX_2_FLEX, FLUX_2_KLEIN_4B, FLUX_2_KLEIN_9B, FLUX_2_MAX, FLUX_2_PRO } from './flux-2.js';
import { FLUX_KONTEXT_MAX, FLUX_KONTEXT_PRO } from './kontext.js';
import type { CatalogueEntry } from './types.js';

export * from './types.js';
export { FAL_ULTRA_RATIOS } from './flux-1-pro.js';

/** Every model, one declarative entry each. `MODELS` (models.ts) and the provider adapters are read from here. */
export const CATALOGUE: Record<ModelId, CatalogueEntry> = {
  'flux-2-pro': FLUX_2_PRO,
  'flux-2-max': FLUX_2_MAX,
  'flux-2-flex': FLUX_2_FLEX,
  'flux-2-dev': FLUX_2_DEV,
  'flux-2-klein-4b': FLUX_2_KLEIN_4B,
  'flux-2-klein-9b': FLUX_2_KLEIN_9B,
  'flux-kontext-pro': FLUX_KONTEXT_PRO,
  'flux-kontext-max': FLUX_KONTEXT_MAX,
  'flux-pro': FLUX_PRO,
  'flux-1.1-pro': FLUX_1_1_PRO,
  'flux-1.1-pro-ultra': FLUX_1_1_PRO_ULTRA,
  'flux-dev': FLUX_DEV,
  'flux-schnell': FLUX_SCHNELL,
};
