// An idle client must not spin. kafkajs 2.2.4's RequestQueue, once a connection has answered a request,
// schedules its pending-request check with a negative delay whenever nothing is pending or throttled, and the
// check schedules itself again: a timer loop of about a millisecond per broker connection, for the life of the
// connection (kafkajs issues #1556, #1704). An idle `amh run` spent about 50 ms of CPU a second on it, CPU a
// site's controller wants for Ansible. The service's kafkajs client module installs the fix
// (kafka/kafkajs-idle.ts); this counts the checks on the real broker while a consumer and a producer idle.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import type { Consumer, Producer } from 'kafkajs';
import '../../src/kafka/client.js';
import { createTopics, kafkaClient, produceRaw, uniqueName, waitUntil } from '../helpers/kafka.js';

const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: { checkPendingRequests(): void } };

/** How long the clients idle while their checks are counted. */
const IDLE_MS = 2_000;

describe('an idle kafkajs consumer and producer', () => {
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let restore: (() => void) | undefined;

  afterEach(async () => {
    restore?.();
    await consumer?.disconnect();
    await producer?.disconnect();
    consumer = producer = restore = undefined;
  });

  it('checks for pending requests only when a request comes or goes, not in a timer loop', async () => {
    const topic = uniqueName('idle');
    await createTopics([topic], 1);
    await produceRaw(topic, [{ key: 'k', value: Buffer.from('one') }]);
    const kafka = kafkaClient('amh-idle');
    // The service's own fetch wait: about four fetch answers a second while nothing arrives.
    consumer = kafka.consumer({ groupId: uniqueName('idle-group'), maxWaitTimeInMs: 250 });
    producer = kafka.producer();
    const received: string[] = [];
    await Promise.all([consumer.connect(), producer.connect()]);
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value?.toString() ?? '') });
    await waitUntil('the message', () => received.length === 1, 30_000);
    await producer.send({ topic, messages: [{ key: 'k', value: 'two' }] });
    await waitUntil('the second message', () => received.length === 2, 30_000);

    let checks = 0;
    const original = RequestQueue.prototype.checkPendingRequests;
    RequestQueue.prototype.checkPendingRequests = function (this: unknown) {
      checks++;
      return original.call(this);
    };
    restore = () => (RequestQueue.prototype.checkPendingRequests = original);
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    restore();

    // One check per answer: about 8 fetches and a heartbeat or two in 2 s. The timer loop made hundreds.
    expect(checks).toBeGreaterThan(0);
    expect(checks).toBeLessThan(50);
  }, 60_000);
});
