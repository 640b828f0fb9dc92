import type { ImagesMapping } from '../catalogue/index.js';
import { UnsupportedByProvider } from '../errors.js';
import type { ProviderName } from '../models.js';
import type { FluxRequest } from '../request.js';

/**
 * Reference images (the request's `images`) as one provider takes them, read from the catalogue's `images` mapping.
 * Pure: the images are placed as the strings they are; turning links into inline data (or base64) is the adapter's
 * step before it maps the request.
 */

/**
 * The request's reference images when the provider can take them all; UnsupportedByProvider naming `images` when it
 * takes none for this model or fewer than given (the failover list then moves on). Undefined: the request has none.
 */
export function acceptedImages(provider: ProviderName, request: FluxRequest, mapping: ImagesMapping | undefined): readonly string[] | undefined {
  const images = request.images;
  if (images === undefined || images.length === 0) return undefined;
  if (mapping === undefined) throw new UnsupportedByProvider(provider, `reference images with ${request.model}`, 'images');
  if (images.length > mapping.max) {
    const most = `at most ${mapping.max} reference image${mapping.max === 1 ? '' : 's'}`;
    throw new UnsupportedByProvider(provider, `${images.length} reference images with ${request.model} (it takes ${most})`, 'images');
  }
  return images;
}

/** The field names `numbered` images go in: `name`, `name_2`, `name_3` … in order. */
export function numberedNames(name: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? name : `${name}_${i + 1}`));
}

/** The input fields carrying `images` in order: one list, numbered fields, or the one field. */
export function placeImages(mapping: ImagesMapping, images: readonly string[]): Record<string, string | string[]> {
  switch (mapping.shape) {
    case 'array':
      return { [mapping.name]: [...images] };
    case 'single':
      return { [mapping.name]: images[0]! };
    case 'numbered':
      return Object.fromEntries(numberedNames(mapping.name, images.length).map((field, i) => [field, images[i]!]));
  }
}
