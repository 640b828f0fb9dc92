import type { ModelId } from '../models.js';
import { FLUX_DEV, FLUX_SCHNELL } from './flux-1-open.js';
import { FLUX_1_1_PRO, FLUX_1_1_PRO_ULTRA, FLUX_PRO } from './flux-1-pro.js';
import type { CatalogueEntry } from './types.js';

export * from './types.js';
export { FAL_ULTRA_RATIOS } from './flux-1-pro.js';

/** Every model, one declarative entry each. `MODELS` (models.ts) and the provider adapters are read from here. */
export const CATALOGUE: Record<ModelId, CatalogueEntry> = {
  'flux-pro': FLUX_PRO,
  'flux-1.1-pro': FLUX_1_1_PRO,
  'flux-1.1-pro-ultra': FLUX_1_1_PRO_ULTRA,
  'flux-dev': FLUX_DEV,
  'flux-schnell': FLUX_SCHNELL,
};
