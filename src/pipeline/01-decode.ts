import type { KafkaMessage } from 'kafkajs';
import type { AvroCodec } from '../codec/codec.js';
import type { SliverEvent } from '../codec/types.js';
import { AmhError, errorMessage } from '../errors/index.js';
import { isTransient } from '../kafka/transient.js';

/** Step 1: bytes -> event. */
export type Decoded =
  /** `tooLarge` says why the event must be rejected without running (over `consumer.max_event_bytes`). */
  | { kind: 'event'; event: SliverEvent; tooLarge: string | null }
  /** Cannot be turned into an event: its fate is the dead-letter topic, with this reason. */
  | { kind: 'undecodable'; reason: string; code: string };

/**
 * Decodes one message. A transient failure (the schema registry is
 * unreachable) is thrown, so the message is retried while its partition
 * waits; it is never dead-lettered for a fault that is not its own.
 */
export async function decodeMessage(codec: AvroCodec, message: KafkaMessage, maxEventBytes: number): Promise<Decoded> {
  let event: SliverEvent;
  try {
    event = (await codec.decode('event', message.value)).value;
  } catch (err) {
    if (isTransient(err)) throw err;
    return { kind: 'undecodable', reason: errorMessage(err), code: err instanceof AmhError ? err.code : 'DECODE' };
  }
  const size = message.value?.length ?? 0;
  const tooLarge =
    size > maxEventBytes
      ? `event is ${size} bytes, over the limit of ${maxEventBytes} bytes (consumer.max_event_bytes): nothing ran`
      : null;
  return { kind: 'event', event, tooLarge };
}
