import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { FakeServer, makeImage } from '../../fakes/fake-server.js';

/**
 * Reference images for the provider tests: two distinct pictures, `a` (a png served at `link` by a local image host)
 * and `b` (a jpeg given inline as `dataUri`), so a test can tell which arrived where, in which order, byte for byte.
 */
export class References {
  private constructor(
    readonly a: Buffer,
    readonly b: Buffer,
    readonly host: FakeServer,
  ) {}

  static async start(): Promise<References> {
    const a = await makeImage(96, 80, 'png', '#cc3300');
    const b = await makeImage(72, 72, 'jpeg', '#00aa44');
    const host = await new FakeServer((call, res) => {
      if (call.path === '/a.png') return void res.writeHead(200, { 'content-type': 'image/png', 'content-length': a.length }).end(a);
      res.writeHead(404).end();
    }).listen();
    return new References(a, b, host);
  }

  /** Where `a` is served (a loopback link: requests are parsed as with ALLOW_PRIVATE_URLS). */
  get link(): string {
    return `${this.host.url}/a.png`;
  }

  get dataUri(): string {
    return `data:image/jpeg;base64,${this.b.toString('base64')}`;
  }

  /** How often `a` was downloaded, by anyone. */
  get downloads(): number {
    return this.host.callsTo('GET', /^\/a\.png$/).length;
  }

  close(): Promise<void> {
    return this.host.close();
  }
}

/** A png of random pixels, which no encoder can squeeze: about `side`² × 3 bytes. */
export async function noisePng(side: number): Promise<Buffer> {
  return sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

/** The bytes of a base64 `data:` URI. */
export function dataUriBytes(uri: string): Buffer {
  return Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64');
}
