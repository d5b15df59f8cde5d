import { getEventListeners } from 'node:events';
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { AmhError, DecodeError, RetryDeadlineError, TransientError } from '../../../src/errors/index.js';
import { backoffDelay, isMessageTooLarge, isTransient, retryTransient } from '../../../src/kafka/transient.js';

const {
  KafkaJSAggregateError,
  KafkaJSBrokerNotFound,
  KafkaJSConnectionError,
  KafkaJSCreateTopicError,
  KafkaJSLockTimeout,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
  KafkaJSServerDoesNotSupportApiKey,
} = kafkajs as unknown as Record<string, new (...args: unknown[]) => Error>;

// The protocol errors exactly as kafkajs builds them from a broker's error code.
const require = createRequire(import.meta.url);
const { createErrorFromCode, errorCodes } = require('kafkajs/src/protocol/error.js') as {
  createErrorFromCode: (code: number) => Error & { type: string; retriable: boolean };
  errorCodes: { type: string; code: number }[];
};
const protocol = (type: string): Error & { type: string; retriable: boolean } => {
  const entry = errorCodes.find((e) => e.type === type);
  if (!entry) throw new Error(`kafkajs has no protocol error ${type}`);
  return createErrorFromCode(entry.code);
};

/** What kafkajs' retrier throws when a retriable error outlives its retries. */
const exhausted = (e: Error): Error => new KafkaJSNumberOfRetriesExceeded!(e, { retryCount: 5, retryTime: 1000 });
/** What kafkajs' retrier throws when the error was not retriable (cause = e.cause || e). */
const bailed = (e: Error): Error => new KafkaJSNonRetriableError!(e, { cause: (e.cause as Error | undefined) ?? e });

describe('isTransient', () => {
  it.each([
    ['a connection error', () => new KafkaJSConnectionError!('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092' })],
    ['a request timeout', () => new KafkaJSRequestTimeoutError!('Request Metadata(key: 3, version: 6) timed out')],
    ['a missing broker', () => new KafkaJSBrokerNotFound!('Broker 1 not found in the cached metadata')],
    ['a lock timeout', () => new KafkaJSLockTimeout!('Timeout while acquiring lock (1 waiting locks)')],
    ['NOT_LEADER_FOR_PARTITION', () => protocol('NOT_LEADER_FOR_PARTITION')],
    ['LEADER_NOT_AVAILABLE', () => protocol('LEADER_NOT_AVAILABLE')],
    ['UNKNOWN_TOPIC_OR_PARTITION', () => protocol('UNKNOWN_TOPIC_OR_PARTITION')],
    ['REQUEST_TIMED_OUT', () => protocol('REQUEST_TIMED_OUT')],
    ['NOT_COORDINATOR_FOR_GROUP', () => protocol('NOT_COORDINATOR_FOR_GROUP')],
    ['retries exhausted on NOT_LEADER_FOR_PARTITION', () => exhausted(protocol('NOT_LEADER_FOR_PARTITION'))],
    ['retries exhausted on a connection error', () => exhausted(new KafkaJSConnectionError!('Connection error'))],
    ['a non-retriable wrapper around exhausted retries', () => bailed(exhausted(protocol('LEADER_NOT_AVAILABLE')))],
    ['topic creation errors that are all transient', () => new KafkaJSAggregateError!('Topic creation errors', [protocol('REQUEST_TIMED_OUT')])],
    ['our TransientError', () => new TransientError('schema registry unreachable')],
  ])('%s is transient', (_name, make) => {
    expect(isTransient(make())).toBe(true);
  });

  it.each([
    ['MESSAGE_TOO_LARGE', () => protocol('MESSAGE_TOO_LARGE')],
    ['RECORD_LIST_TOO_LARGE', () => protocol('RECORD_LIST_TOO_LARGE')],
    ['INVALID_RECORD', () => protocol('INVALID_RECORD')],
    ['TOPIC_AUTHORIZATION_FAILED', () => protocol('TOPIC_AUTHORIZATION_FAILED')],
    ['SASL_AUTHENTICATION_FAILED', () => protocol('SASL_AUTHENTICATION_FAILED')],
    ['a SASL authentication error', () => new KafkaJSSASLAuthenticationError!('SASL PLAIN authentication failed')],
    ['an unsupported API', () => new KafkaJSServerDoesNotSupportApiKey!('The Kafka server does not support the requested API version')],
    ['a plain non-retriable error', () => new KafkaJSNonRetriableError!('Invalid topics array')],
    ['retries exhausted on MESSAGE_TOO_LARGE', () => exhausted(protocol('MESSAGE_TOO_LARGE'))],
    ['a non-retriable wrapper around TOPIC_AUTHORIZATION_FAILED', () => bailed(protocol('TOPIC_AUTHORIZATION_FAILED'))],
    ['topic creation errors with one permanent', () =>
      new KafkaJSAggregateError!('Topic creation errors', [protocol('REQUEST_TIMED_OUT'), new KafkaJSCreateTopicError!(protocol('INVALID_REPLICATION_FACTOR'), 't')])],
    ['a DecodeError', () => new DecodeError('bad bytes')],
    ['a plain Error', () => new Error('boom')],
    ['a TypeError', () => new TypeError('x is not a function')],
    ['a string', () => 'nope' as unknown as Error],
    ['undefined', () => undefined as unknown as Error],
  ])('%s is permanent', (_name, make) => {
    expect(isTransient(make())).toBe(false);
  });
});

describe('isMessageTooLarge', () => {
  it('recognises MESSAGE_TOO_LARGE and RECORD_LIST_TOO_LARGE, also behind kafkajs wrappers', () => {
    expect(isMessageTooLarge(protocol('MESSAGE_TOO_LARGE'))).toBe(true);
    expect(isMessageTooLarge(protocol('RECORD_LIST_TOO_LARGE'))).toBe(true);
    expect(isMessageTooLarge(bailed(protocol('MESSAGE_TOO_LARGE')))).toBe(true);
    expect(isMessageTooLarge(exhausted(protocol('MESSAGE_TOO_LARGE')))).toBe(true);
    expect(isMessageTooLarge(protocol('INVALID_RECORD'))).toBe(false);
    expect(isMessageTooLarge(new KafkaJSConnectionError!('Connection error'))).toBe(false);
    expect(isMessageTooLarge(new Error('MESSAGE_TOO_LARGE'))).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, with up to half of it random', () => {
    const low = (attempt: number) => backoffDelay(attempt, 100, 1_000, () => 0);
    const high = (attempt: number) => backoffDelay(attempt, 100, 1_000, () => 0.999999);
    expect([0, 1, 2, 3, 4, 10].map(low)).toEqual([50, 100, 200, 400, 500, 500]);
    expect([0, 1, 2, 3, 4, 10].map((a) => Math.round(high(a)))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });
});

interface Warning {
  obj: Record<string, unknown>;
  msg: string;
}
function recordingLogger(): { warn: (obj: Record<string, unknown>, msg: string) => void; warnings: Warning[] } {
  const warnings: Warning[] = [];
  return { warnings, warn: (obj, msg) => warnings.push({ obj, msg }) };
}

/** A function that fails with each of `errors` in turn, then returns 'ok'. */
function failing(...errors: unknown[]): { fn: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    fn: async () => {
      const err = errors[calls++];
      if (err !== undefined) throw err;
      return 'ok';
    },
  };
}

describe('retryTransient', () => {
  const fast = { initialDelayMs: 5, maxDelayMs: 20 };

  it('retries transient errors until the call succeeds, and says so in the log', async () => {
    const logger = recordingLogger();
    const { fn, calls } = failing(new KafkaJSConnectionError!('Connection error'), protocol('LEADER_NOT_AVAILABLE'));
    await expect(retryTransient('creating topics', fn, { deadlineMs: 5_000, logger, ...fast })).resolves.toBe('ok');
    expect(calls()).toBe(3);
    expect(logger.warnings).toHaveLength(2);
    expect(logger.warnings[0]!.msg).toMatch(/creating topics failed, retrying/);
    expect(logger.warnings[1]!.obj).toMatchObject({ attempt: 2 });
  });

  it('throws a permanent error at once, as it is', async () => {
    const permanent = protocol('TOPIC_AUTHORIZATION_FAILED');
    const { fn, calls } = failing(permanent);
    await expect(retryTransient('creating topics', fn, { deadlineMs: 5_000, logger: recordingLogger(), ...fast })).rejects.toBe(permanent);
    expect(calls()).toBe(1);
  });

  it('gives up at the deadline with a TransientError that names what failed, for how long, and the last error', async () => {
    const began = Date.now();
    const last = protocol('NOT_LEADER_FOR_PARTITION');
    const err = await retryTransient(
      'waiting for partition leaders',
      () => Promise.reject(last),
      { deadlineMs: 300, logger: recordingLogger(), ...fast },
    ).catch((e: unknown) => e);
    const elapsed = Date.now() - began;
    expect(err).toBeInstanceOf(RetryDeadlineError);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(
      /^waiting for partition leaders still failing after 0\.[3-9] s \(\d+ attempts\): This server is not the leader for that topic-partition$/,
    );
    expect((err as Error).cause).toBe(last);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1_500);
  });

  it('stops waiting when its signal aborts, and does not call again', async () => {
    const controller = new AbortController();
    const { fn, calls } = failing(...Array.from({ length: 100 }, () => new KafkaJSConnectionError!('Connection error')));
    const pending = retryTransient('connecting', fn, {
      deadlineMs: 60_000,
      logger: recordingLogger(),
      signal: controller.signal,
      initialDelayMs: 10_000,
    });
    setTimeout(() => controller.abort(new Error('shutdown')), 20);
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmhError);
    expect((err as Error).message).toMatch(/connecting aborted/);
    expect(((err as Error).cause as Error).message).toBe('shutdown');
    expect(calls()).toBe(1);
  });

  it('does not call at all with an already aborted signal', async () => {
    const { fn, calls } = failing();
    await expect(
      retryTransient('connecting', fn, { deadlineMs: 1_000, logger: recordingLogger(), signal: AbortSignal.abort() }),
    ).rejects.toThrow(/connecting aborted/);
    expect(calls()).toBe(0);
  });

  it('leaves no abort listener behind on a long-lived signal', async () => {
    const controller = new AbortController();
    const before = getEventListeners(controller.signal, 'abort').length;
    for (let round = 0; round < 5; round++) {
      const { fn } = failing(...Array.from({ length: 6 }, () => new KafkaJSConnectionError!('Connection error')));
      await retryTransient('connecting', fn, { deadlineMs: 5_000, logger: recordingLogger(), signal: controller.signal, ...fast });
    }
    expect(getEventListeners(controller.signal, 'abort').length).toBe(before);
  });
});
