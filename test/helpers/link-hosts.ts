import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import { FakeServer, makeImage } from '../fakes/fake-server.js';

/**
 * Two hosts for tests of members' image links. `images` (127.0.0.1, trusted as a public host through the guard's
 * resolver, name `images.test`) serves the member's picture at `/cat.png` and redirects `/to-metadata` into the
 * operator's network; `internal` (127.0.0.2, same port) stands for a metadata service or any private host and records
 * every request it gets (`hits`): a test proves no member link reached it. `dns` resolves `images.test`, and the names
 * the request schema lets through (it cannot resolve) that lead inside: `169.254.169.254.nip.io`, `instance-data`.
 */
export class LinkHosts {
  private constructor(
    /** Paths requested from the internal host. */
    readonly hits: string[],
    readonly png: Buffer,
    readonly images: FakeServer,
    private readonly internal: Server,
  ) {}

  static async start(width = 80, height = 64): Promise<LinkHosts> {
    const png = await makeImage(width, height, 'png');
    const hits: string[] = [];
    const images = await new FakeServer((call, res) => {
      if (call.path === '/cat.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(png);
      if (call.path === '/to-metadata') return void res.writeHead(302, { location: `http://169.254.169.254.nip.io:${images.port}/latest/meta-data/` }).end();
      res.writeHead(404).end();
    }).listen();
    const internal = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    });
    await new Promise<void>((resolve) => internal.listen(images.port, '127.0.0.2', resolve));
    return new LinkHosts(hits, png, images, internal);
  }

  /** The guard's resolver for these hosts. */
  readonly dns = async (name: string): Promise<LookupAddress[]> => {
    if (name === 'images.test') return [{ address: '127.0.0.1', family: 4 }];
    if (name === '169.254.169.254.nip.io' || name === 'instance-data') return [{ address: '127.0.0.2', family: 4 }];
    return [];
  };

  get port(): number {
    return this.images.port;
  }

  async close(): Promise<void> {
    await this.images.close();
    this.internal.closeAllConnections();
    await new Promise<void>((resolve) => this.internal.close(() => resolve()));
  }
}
