import { DecodeError } from '../errors/index.js';

/** Looks up writer schemas by id (Confluent wire format). The seam for tests. */
export interface SchemaRegistry {
  schemaById(id: number): Promise<string>;
}

/**
 * A minimal Confluent Schema Registry client: `GET /schemas/ids/{id}`.
 * Schemas are immutable per id, so each is fetched once and cached
 * (including concurrent look-ups of the same id).
 */
export class HttpSchemaRegistry implements SchemaRegistry {
  private readonly cache = new Map<number, Promise<string>>();

  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  schemaById(id: number): Promise<string> {
    let pending = this.cache.get(id);
    if (!pending) {
      pending = this.fetchSchema(id);
      this.cache.set(id, pending);
      // A failed look-up (registry down) must not be cached forever.
      pending.catch(() => this.cache.delete(id));
    }
    return pending;
  }

  private async fetchSchema(id: number): Promise<string> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}/schemas/ids/${id}`;
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new DecodeError(`schema registry unreachable at ${url}: ${(err as Error).message}`, {
        cause: err,
        retriable: true,
      });
    }
    if (response.status === 404) throw new DecodeError(`schema id ${id} is not in the registry at ${this.baseUrl}`);
    if (!response.ok) {
      throw new DecodeError(`schema registry answered ${response.status} for ${url}`, { retriable: true });
    }
    const body = (await response.json()) as { schema?: unknown; schemaType?: string };
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw new DecodeError(`schema id ${id} is a ${body.schemaType} schema, not Avro`);
    }
    if (typeof body.schema !== 'string') throw new DecodeError(`schema registry answer for id ${id} has no schema`);
    return body.schema;
  }
}
