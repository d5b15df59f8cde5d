import { getEventListeners } from 'node:events';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { TransientError } from '../../../src/errors/index.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { AbandonedError, untilDone } from '../../../src/pipeline/retry.js';
import { linkSignals } from '../../../src/lib/abort.js';

const fast = { logger: silentLogger(), initialDelayMs: 1, maxDelayMs: 2 };

describe('untilDone', () => {
  it('retries transient failures until the step succeeds, leaving no listener on the long-lived signal (finding 12)', async () => {
    const shutdown = new AbortController();
    let calls = 0;
    const value = await untilDone('publishing', async () => {
      if (++calls < 30) throw new kafkajs.KafkaJSConnectionError('reset');
      return 'ok';
    }, { ...fast, signal: shutdown.signal });
    expect(value).toBe('ok');
    expect(calls).toBe(30);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('does not retry a permanent failure such as a message too large (finding 12)', async () => {
    let calls = 0;
    const tooLarge = new kafkajs.KafkaJSProtocolError({ message: 'too large', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as never);
    await expect(untilDone('publishing', async () => {
      calls++;
      throw tooLarge;
    }, { ...fast, signal: new AbortController().signal })).rejects.toBe(tooLarge);
    expect(calls).toBe(1);
  });

  it('gives up when the signal aborts (hard shutdown deadline)', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(new Error('deadline')), 20);
    await expect(untilDone('publishing', async () => {
      throw new TransientError('down');
    }, { ...fast, signal: stop.signal })).rejects.toBeInstanceOf(AbandonedError);
  });
});

describe('untilDone, first attempt outside the retry loop', () => {
  it('treats a step that throws synchronously like one that rejects: retried when transient, a rejection otherwise', async () => {
    let calls = 0;
    const attempts: number[] = [];
    const value = await untilDone('decoding', () => {
      if (++calls < 3) throw new TransientError('registry away');
      return Promise.resolve(calls);
    }, { ...fast, signal: new AbortController().signal, onRetry: (_err, attempt) => attempts.push(attempt) });
    expect(value).toBe(3);
    expect(attempts).toEqual([1, 2]);
    const bad = new Error('not transient');
    const returned = untilDone('decoding', () => {
      throw bad;
    }, { ...fast, signal: new AbortController().signal });
    await expect(returned).rejects.toBe(bad);
  });

  it('runs nothing once the signal has aborted', async () => {
    const stop = new AbortController();
    stop.abort(new Error('deadline'));
    let calls = 0;
    await expect(untilDone('publishing', async () => ++calls, { ...fast, signal: stop.signal })).rejects.toThrow(/gave up publishing: deadline/);
    expect(calls).toBe(0);
  });
});

describe('linkSignals', () => {
  it('aborts with the first reason and removes its listeners when disposed', () => {
    const longLived = new AbortController();
    const other = new AbortController();
    const links = Array.from({ length: 50 }, () => linkSignals(longLived.signal, other.signal));
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(50);
    for (const l of links) l.dispose();
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(0);
    const live = linkSignals(longLived.signal, other.signal);
    other.abort(new Error('why'));
    expect((live.signal.reason as Error).message).toBe('why');
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(0);
  });
});
