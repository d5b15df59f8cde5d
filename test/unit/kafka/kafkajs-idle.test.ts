import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PATCHED_KAFKAJS } from '../../../src/kafka/kafkajs-internals.js';
import { installIdleQuiet, uninstallIdleQuiet } from '../../../src/kafka/kafkajs-idle.js';

const require = createRequire(import.meta.url);

/** kafkajs 2.2.4's own RequestQueue: the patch is proved on the code it patches, not on a stand-in. */
interface RequestQueue {
  pending: unknown[];
  inflight: Map<number, unknown>;
  push(request: {
    entry: { correlationId: number; apiKey: number; apiName: string; apiVersion: number; resolve(): void; reject(): void };
    expectResponse: boolean;
    sendRequest(): void;
  }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  destroy(): void;
}
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
  new (options: Record<string, unknown>): RequestQueue;
  prototype: RequestQueue;
};
const logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A queue of one broker connection; `sent` lists the correlation ids written to the socket. */
function queue(maxInFlightRequests: number | null = null): { q: RequestQueue; sent: number[]; push(id: number): void } {
  const q = new RequestQueue({ maxInFlightRequests, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'b:1', logger });
  const sent: number[] = [];
  return {
    q,
    sent,
    push: (correlationId) =>
      q.push({
        entry: { correlationId, apiKey: 1, apiName: 'Fetch', apiVersion: 11, resolve() {}, reject() {} },
        expectResponse: true,
        sendRequest: () => sent.push(correlationId),
      }),
  };
}

const answer = (q: RequestQueue, correlationId: number): void => q.fulfillRequest({ correlationId, payload: Buffer.alloc(0), size: 0 });

describe('kafkajs RequestQueue with installIdleQuiet', () => {
  let checks: number;
  let countChecks: () => void;
  const own = RequestQueue.prototype.checkPendingRequests;

  beforeEach(() => {
    vi.useFakeTimers();
    checks = 0;
    countChecks = () => {
      RequestQueue.prototype.checkPendingRequests = function (this: RequestQueue) {
        checks++;
        return own.call(this);
      };
    };
    countChecks();
  });

  afterEach(() => {
    RequestQueue.prototype.checkPendingRequests = own;
    installIdleQuiet();
    vi.useRealTimers();
  });

  it('schedules nothing once a request is answered and nothing is pending (kafkajs alone loops every millisecond)', () => {
    uninstallIdleQuiet();
    const bare = queue();
    bare.push(1);
    answer(bare.q, 1);
    vi.advanceTimersByTime(100);
    const looped = checks;
    bare.q.destroy();
    expect(looped).toBeGreaterThan(50);

    installIdleQuiet();
    checks = 0;
    const quiet = queue();
    quiet.push(1);
    answer(quiet.q, 1);
    expect(checks).toBe(1); // the answer's own check
    vi.advanceTimersByTime(100);
    expect(checks).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    quiet.q.destroy();
  });

  it('sends a request held back by the in-flight limit when the one in flight is answered', () => {
    installIdleQuiet();
    const { q, sent, push } = queue(1);
    push(1);
    push(2);
    expect(sent).toEqual([1]);
    expect(q.pending).toHaveLength(1);
    answer(q, 1);
    expect(sent).toEqual([1, 2]);
    answer(q, 2);
    vi.advanceTimersByTime(100);
    expect(vi.getTimerCount()).toBe(0);
    q.destroy();
  });

  it('sends a request held back by a client-side throttle when the throttle ends, as kafkajs does', () => {
    installIdleQuiet();
    const { q, sent, push } = queue();
    push(1);
    answer(q, 1);
    q.maybeThrottle(50);
    push(2);
    expect(sent).toEqual([1]);
    vi.advanceTimersByTime(49);
    expect(sent).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([1, 2]);
    answer(q, 2);
    vi.advanceTimersByTime(100);
    expect(vi.getTimerCount()).toBe(0);
    q.destroy();
  });

  it(`patches kafkajs ${PATCHED_KAFKAJS}'s RequestQueue once, and puts it back on uninstall`, () => {
    uninstallIdleQuiet();
    const bare = RequestQueue.prototype.scheduleCheckPendingRequests;
    expect(installIdleQuiet()).toEqual({ installed: true, version: PATCHED_KAFKAJS });
    const patched = RequestQueue.prototype.scheduleCheckPendingRequests;
    expect(patched).not.toBe(bare);
    expect(installIdleQuiet()).toEqual({ installed: true, version: PATCHED_KAFKAJS });
    expect(RequestQueue.prototype.scheduleCheckPendingRequests).toBe(patched);
    uninstallIdleQuiet();
    expect(RequestQueue.prototype.scheduleCheckPendingRequests).toBe(bare);
  });
});
