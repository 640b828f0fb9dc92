import { fitImage } from '../images/image.js';
import { PriceTable } from '../prices.js';
import type { GeneratedImage } from '../providers/provider.js';
import type { GenerationJobData, StoredImage } from './job-data.js';
import type { StepDeps } from './step-context.js';

/* A generated image on its way to the stash: fitted to what the job asks, priced, and described for the job's data. */

/** The catalogue's prices, for a worker built without a price table of its own. */
const CATALOGUE_PRICES = new PriceTable();

/** What the job keeps of an image it stored (the bytes go to the stash). */
export function storedImage(image: GeneratedImage, costMicros: number): StoredImage {
  return {
    provider: image.provider,
    predictionId: image.predictionId,
    seed: image.seed,
    width: image.width,
    height: image.height,
    format: image.format,
    contentType: image.contentType,
    nsfw: image.nsfw,
    generationMs: image.ms,
    bytes: image.bytes.length,
    costMicros,
  };
}

/**
 * The provider's image in the format, quality and upload size the job asks for. Providers return decoded images
 * (format and size read from the bytes), so no second decode here.
 */
export async function fitted(data: GenerationJobData, image: GeneratedImage): Promise<GeneratedImage> {
  const fit = await fitImage(image, {
    format: data.request.output_format,
    ...(data.target.maxUploadBytes === undefined ? {} : { maxBytes: data.target.maxUploadBytes }),
    ...(data.request.output_quality === undefined ? {} : { quality: data.request.output_quality }),
  });
  return { ...image, ...fit };
}

/**
 * What a generated image cost, in micro-dollars: the provider's own figure when it reports one (BFL), else the price
 * table's for the provider that made it, at the size asked (what providers bill) and the input images' sizes checked
 * at admission (unknown ones at the most FLUX.2 takes).
 */
export function costOfImage(deps: StepDeps, data: GenerationJobData, image: GeneratedImage): number {
  const inputs = (data.request.images ?? []).map((_, i) => {
    const size = data.inputSizes?.[i];
    return size ? { width: size[0], height: size[1] } : undefined;
  });
  const output = { width: data.request.width, height: data.request.height };
  return (deps.prices ?? CATALOGUE_PRICES).settled(data.request.model, image.provider, output, inputs, image.costUsd);
}
