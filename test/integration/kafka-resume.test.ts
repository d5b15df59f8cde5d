// A consumer whose every partition is paused (the service's queue bound, consumer-runner.ts) must fetch again
// as soon as it is resumed. kafkajs 2.2.4 alone sleeps `maxWaitTimeInMs` in that state and does not wake on
// resume(): with the service's 250 ms, each pause cost the pipeline up to a quarter of a second with nothing
// to do (README "Batched writes", seventh pass). The service's kafkajs client module installs the wake-up
// (kafka/kafkajs-resume.ts); this proves it on the real broker, with a wait long enough to tell them apart.
import { afterEach, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import '../../src/kafka/client.js';
import { createTopics, kafkaClient, produceRaw, uniqueName, waitUntil } from '../helpers/kafka.js';

/** kafkajs' sleep while everything is paused: far longer than the test waits for the message after resume(). */
const MAX_WAIT_MS = 20_000;

describe('a consumer with every partition paused', () => {
  let consumer: Consumer | undefined;

  afterEach(async () => {
    await consumer?.disconnect();
    consumer = undefined;
  });

  it('fetches again as soon as it is resumed, not after its fetch wait', async () => {
    const topic = uniqueName('resume');
    await createTopics([topic], 1);
    await produceRaw(topic, [{ key: 'k', value: Buffer.from('first') }]);
    consumer = kafkaClient('amh-resume').consumer({ groupId: uniqueName('resume-group'), maxWaitTimeInMs: MAX_WAIT_MS });
    const received: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => void received.push(message.value?.toString() ?? '') });
    await waitUntil('the first message', () => received.length === 1, 30_000);

    consumer.pause([{ topic }]);
    // Data for the paused partition ends the broker's long poll; the next fetch finds nothing to fetch and sleeps.
    await produceRaw(topic, [{ key: 'k', value: Buffer.from('second') }]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(received).toEqual(['first']);

    const resumedAt = Date.now();
    consumer.resume([{ topic }]);
    await waitUntil('the second message after resume()', () => received.length === 2, MAX_WAIT_MS / 4, 20);
    expect(received).toEqual(['first', 'second']);
    expect(Date.now() - resumedAt).toBeLessThan(MAX_WAIT_MS / 4);
  }, 60_000);
});
