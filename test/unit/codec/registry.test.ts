import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AvroCodec, HttpSchemaRegistry, SchemaCatalog, frameConfluent } from '../../../src/codec/index.js';
import { DecodeError, TransientError } from '../../../src/errors/index.js';
import { vmEvent } from '../../helpers/events.js';

const catalog = SchemaCatalog.load();
const v1 = catalog.versions('event').find((v) => v.version === 1)!;
const v1Text = readFileSync(v1.file, 'utf8');

type Answer = (res: ServerResponse) => void;

/** A real registry stand-in on 127.0.0.1: `answer` decides each reply; `hits` counts requests. */
class FakeRegistry {
  hits = 0;
  answer: Answer = ok(v1Text);
  private constructor(readonly server: Server) {}

  static async start(): Promise<FakeRegistry> {
    let self: FakeRegistry | undefined;
    const server = createServer((_req, res) => {
      self!.hits++;
      self!.answer(res);
    });
    self = new FakeRegistry(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function ok(schema: string, schemaType?: string): Answer {
  return (res) => {
    res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify({ schema, ...(schemaType ? { schemaType } : {}) }));
  };
}

function status(code: number): Answer {
  return (res) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error_code: code * 100 + 3, message: 'nope' }));
  };
}

/** Never answers (until the server closes the connection). */
const hang: Answer = () => undefined;

let registry: FakeRegistry | undefined;
afterEach(async () => {
  await registry?.close();
  registry = undefined;
});

async function failure(lookup: Promise<unknown>): Promise<unknown> {
  return lookup.then(
    () => expect.fail('the look-up should have failed'),
    (err: unknown) => err,
  );
}

describe('HttpSchemaRegistry failures', () => {
  it('a registry that is down (connection refused) is transient, not a bad message', async () => {
    registry = await FakeRegistry.start();
    const url = registry.url;
    await registry.close();
    registry = undefined;
    const err = await failure(new HttpSchemaRegistry(url, 2_000).schemaById(7));
    expect(err).toBeInstanceOf(TransientError);
    expect(err).not.toBeInstanceOf(DecodeError);
    expect((err as TransientError).message).toMatch(/schema registry unreachable/);
  });

  it.each([500, 502, 503, 429, 408])('an answer %i is transient', async (code) => {
    registry = await FakeRegistry.start();
    registry.answer = status(code);
    const err = await failure(new HttpSchemaRegistry(registry.url).schemaById(7));
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toContain(String(code));
  });

  it('a registry too slow to answer is transient (timeout)', async () => {
    registry = await FakeRegistry.start();
    registry.answer = hang;
    const began = Date.now();
    const err = await failure(new HttpSchemaRegistry(registry.url, 200).schemaById(7));
    expect(err).toBeInstanceOf(TransientError);
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it('an unknown schema id (404) and a non-Avro schema stay permanent DecodeErrors', async () => {
    registry = await FakeRegistry.start();
    registry.answer = status(404);
    const notFound = await failure(new HttpSchemaRegistry(registry.url).schemaById(7));
    expect(notFound).toBeInstanceOf(DecodeError);
    expect((notFound as DecodeError).retriable).toBe(false);
    expect((notFound as Error).message).toMatch(/schema id 7 is not in the registry/);

    registry.answer = ok('syntax = "proto3";', 'PROTOBUF');
    const proto = await failure(new HttpSchemaRegistry(registry.url).schemaById(8));
    expect(proto).toBeInstanceOf(DecodeError);
    expect((proto as Error).message).toMatch(/PROTOBUF schema, not Avro/);
  });

  it('recovers once the registry is back: a failed look-up is not cached, a good one is', async () => {
    registry = await FakeRegistry.start();
    const client = new HttpSchemaRegistry(registry.url);
    registry.answer = status(503);
    await expect(client.schemaById(7)).rejects.toBeInstanceOf(TransientError);
    registry.answer = ok(v1Text);
    await expect(client.schemaById(7)).resolves.toBe(v1Text);
    await expect(client.schemaById(7)).resolves.toBe(v1Text);
    expect(registry.hits).toBe(2);
  });
});

describe('AvroCodec with an unavailable registry', () => {
  it('lets the TransientError through unwrapped, then decodes once the registry answers', async () => {
    registry = await FakeRegistry.start();
    const codec = new AvroCodec(catalog, new HttpSchemaRegistry(registry.url));
    const bytes = frameConfluent(7, v1.type.toBuffer(v1.type.clone(vmEvent({ sliver_id: 'sliver-outage' }))));
    registry.answer = status(503);
    const err = await failure(codec.decode('event', bytes));
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).retriable).toBe(true);

    registry.answer = ok(v1Text);
    const decoded = await codec.decode('event', bytes);
    expect(decoded.value.sliver_id).toBe('sliver-outage');
  });
});
