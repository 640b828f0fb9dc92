/**
 * One FLUX.2 edit: the request each provider receives (issue 12).
 *
 *   npx tsx bench/edit-shapes.ts
 *
 * Starts the local Replicate, fal, BFL and Cog fakes in this process and a loopback image host, then runs one edit
 * with two small reference images (`a`, a png given as a link to the image host; `b`, a jpeg given as a `data:` URI)
 * through the real provider adapters: flux-2-pro on Replicate, fal and BFL, flux-2-dev on Cog (a container serves
 * open weights only). The size is settled as admission settles it: no ratio or size given, so the edit keeps the
 * shape of its first image (`matchInputImage`). Prints, per provider, the HTTP method and path of the submit call and
 * the JSON body the fake received, long base64 and `data:` strings shortened to their start and length, and whether
 * the fake read both references in order as the exact bytes given.
 *
 * The adapters are built directly rather than through `createProvider`: there, Replicate and fal configured at a
 * loopback address count as the operator's own network and get every link fetched by the bot and inlined, whereas a
 * hosted Replicate or fal is handed the link as it is, which is the shape shown here. Links and output downloads on
 * loopback are allowed (`ALLOW_PRIVATE_URLS` in the app), as in the tests.
 */
import sharp, { type Metadata } from 'sharp';
import type { Size } from '../src/core/prices.js';
import { BflProvider } from '../src/core/providers/bfl/bfl-provider.js';
import { CogProvider } from '../src/core/providers/cog/cog-provider.js';
import { FalProvider } from '../src/core/providers/fal/fal-provider.js';
import type { ImageProvider } from '../src/core/providers/provider.js';
import { ReplicateProvider } from '../src/core/providers/replicate/replicate-provider.js';
import { matchInputImage, parseFluxRequest, type FluxRequest } from '../src/core/request.js';
import { BflFake } from '../test/fakes/bfl-fake.js';
import { CogFake } from '../test/fakes/cog-fake.js';
import { FalFake } from '../test/fakes/fal-fake.js';
import type { RecordedCall } from '../test/fakes/fake-server.js';
import { ReplicateFake } from '../test/fakes/replicate-fake.js';
import { References } from '../test/integration/providers/references.js';

/** Strings longer than this are shortened when printed. */
const LONG = 60;
const PROMPT = 'put the cat of image 2 on the sofa of image 1';

/** One provider as seen from its fake: the submit call and the references the fake read, by prediction id. */
interface Subject {
  name: string;
  provider: ImageProvider;
  model: FluxRequest['model'];
  submit: () => RecordedCall | undefined;
  received: (predictionId: string) => Buffer[] | undefined;
}

/** The request as the worker hands it to a provider: parsed, then sized after its first image (`first`). */
function request(model: FluxRequest['model'], images: string[], first: Size): FluxRequest {
  const parsed = parseFluxRequest({ prompt: PROMPT, model, seed: 42, images }, { allowPrivateImageLinks: true });
  if (!parsed.ok) throw parsed.error;
  return matchInputImage(parsed.request, first);
}

/** `data:image/png;base64,iVBORw0K…(1234 chars)` for a data URI, `iVBORw0K…(1234 chars)` for bare base64. */
function shorten(value: string): string {
  if (value.length <= LONG) return value;
  const comma = value.startsWith('data:') ? value.indexOf(',') + 1 : 0;
  return `${value.slice(0, comma + 8)}…(${value.length} chars)`;
}

/** The body with every long string shortened, keys in the order received. */
function shortened(body: unknown): unknown {
  if (typeof body === 'string') return shorten(body);
  if (Array.isArray(body)) return body.map(shortened);
  if (body && typeof body === 'object') return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, shortened(value)]));
  return body;
}

async function main(): Promise<void> {
  const refs = await References.start();
  const [replicate, fal, bfl, cog] = await Promise.all([ReplicateFake.start({ latencyMs: 30 }), FalFake.start(), BflFake.start(), CogFake.start({ model: 'flux-2-dev', latencyMs: 30 })]);
  const firstWrite = (calls: RecordedCall[]) => calls.find((c) => (c.method === 'POST' || c.method === 'PUT') && c.body !== undefined);
  const subjects: Subject[] = [
    {
      name: 'replicate',
      provider: new ReplicateProvider({ baseUrl: replicate.baseUrl, token: replicate.token, pollIntervalMs: 20, allowPrivateDownloads: true }),
      model: 'flux-2-pro',
      submit: () => firstWrite(replicate.calls),
      received: (id) => replicate.prediction(id)?.images,
    },
    {
      name: 'fal',
      provider: new FalProvider({ key: fal.key, baseUrl: fal.url, pollIntervalMs: 20, allowPrivateDownloads: true }),
      model: 'flux-2-pro',
      submit: () => firstWrite(fal.calls),
      received: (id) => fal.requests.get(id)?.images,
    },
    {
      name: 'bfl',
      provider: new BflProvider({ apiKey: bfl.key, baseUrl: bfl.url, pollIntervalMs: 20, allowPrivateDownloads: true }),
      model: 'flux-2-pro',
      submit: () => firstWrite(bfl.calls),
      received: (id) => bfl.tasks.get(id)?.images,
    },
    {
      name: 'cog',
      provider: new CogProvider({ baseUrl: cog.url, model: 'flux-2-dev', imagePromptGuard: { allowPrivate: true } }),
      model: 'flux-2-dev',
      submit: () => firstWrite(cog.calls),
      received: (id) => cog.images.get(id),
    },
  ];
  try {
    const [a, b] = await Promise.all([refs.a, refs.b].map((bytes) => sharp(bytes).metadata()));
    const described = (meta: Metadata | undefined, bytes: Buffer) => `${meta?.format} ${meta?.width}×${meta?.height}, ${bytes.length} bytes`;
    console.log(`references: a = ${refs.link} (${described(a, refs.a)}), b = data URI (${described(b, refs.b)})`);
    for (const subject of subjects) {
      const image = await subject.provider.generate(request(subject.model, [refs.link, refs.dataUri], { width: a?.width ?? 0, height: a?.height ?? 0 }));
      const call = subject.submit();
      if (!call) throw new Error(`${subject.name}: no submit call recorded`);
      const got = subject.received(image.predictionId) ?? [];
      const exact = got.length === 2 && got[0]!.equals(refs.a) && got[1]!.equals(refs.b);
      if (!exact) process.exitCode = 1;
      console.log(`\n${subject.name} (${subject.model}): ${call.method} ${call.path}`);
      console.log(JSON.stringify(shortened(call.body), null, 2));
      console.log(`→ the fake read ${got.length} reference image(s)${exact ? ', a then b, byte for byte' : ', NOT a then b byte for byte'}; output ${image.width}×${image.height} ${image.format}`);
    }
  } finally {
    await Promise.all([replicate.close(), fal.close(), bfl.close(), cog.close(), refs.close()]);
  }
}

await main();
