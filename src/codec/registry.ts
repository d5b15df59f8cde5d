import { DecodeError, TransientError, errorMessage } from '../errors/index.js';

/**
 * Looks up writer schemas by id (Confluent wire format). The seam for tests.
 * A registry that cannot answer right now throws `TransientError` (the
 * message waits and is retried); an answer that can never become a schema
 * (unknown id, not Avro) throws `DecodeError` (dead letter).
 */
export interface SchemaRegistry {
  schemaById(id: number): Promise<string>;
}

/** Statuses that say "not now" rather than "never": overload, rate limit, a gateway or the registry itself failing. */
function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * A minimal Confluent Schema Registry client: `GET /schemas/ids/{id}`.
 * Schemas are immutable per id, so each is fetched once and cached
 * (including concurrent look-ups of the same id); a failed look-up is not.
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
    let status: number;
    let text: string;
    try {
      // The timeout covers the body too: a registry that stalls mid-answer is as unavailable as one that is down.
      const response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      status = response.status;
      text = await response.text();
    } catch (err) {
      throw new TransientError(`schema registry unreachable at ${url}: ${describeFetchError(err, this.timeoutMs)}`, { cause: err });
    }
    if (status === 404) throw new DecodeError(`schema id ${id} is not in the registry at ${this.baseUrl}`);
    if (isTransientStatus(status)) throw new TransientError(`schema registry answered ${status} for ${url}`);
    if (status < 200 || status >= 300) throw new DecodeError(`schema registry answered ${status} for ${url}`);
    let body: { schema?: unknown; schemaType?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch (err) {
      throw new DecodeError(`schema registry answer for id ${id} is not JSON: ${errorMessage(err)}`, { cause: err });
    }
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw new DecodeError(`schema id ${id} is a ${String(body.schemaType)} schema, not Avro`);
    }
    if (typeof body.schema !== 'string') throw new DecodeError(`schema registry answer for id ${id} has no schema`);
    return body.schema;
  }
}

/** fetch() says only "fetch failed"; the reason (ECONNREFUSED, timeout) is in its cause. */
function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${errorMessage(err)} (${detail})` : errorMessage(err);
}
