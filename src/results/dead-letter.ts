import type { IHeaders, KafkaMessage, Producer } from 'kafkajs';
import { isMessageTooLarge } from '../kafka/transient.js';

export interface DeadLetter {
  topic: string;
  partition: number;
  message: KafkaMessage;
  reason: string;
  errorCode: string;
}

/** Header names carried by every dead-letter record (documented in the README). */
export const DLQ_HEADERS = {
  reason: 'amh.dlq.reason',
  errorCode: 'amh.dlq.error_code',
  topic: 'amh.dlq.source_topic',
  partition: 'amh.dlq.source_partition',
  offset: 'amh.dlq.source_offset',
  timestamp: 'amh.dlq.timestamp',
  /** Set when the original value was too large for the dead-letter topic: it is still on the source topic at the source offset. */
  valueDropped: 'amh.dlq.value_dropped',
} as const;

/**
 * Sends undecodable messages to the dead-letter topic: the original key,
 * value and headers, plus headers saying why and where from.
 */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: Pick<Producer, 'send'>,
    private readonly topic: string,
  ) {}

  /** One attempt (the caller retries transient failures). */
  async send(letter: DeadLetter): Promise<void> {
    const { message } = letter;
    const headers: IHeaders = {
      ...(message.headers ?? {}),
      [DLQ_HEADERS.reason]: letter.reason,
      [DLQ_HEADERS.errorCode]: letter.errorCode,
      [DLQ_HEADERS.topic]: letter.topic,
      [DLQ_HEADERS.partition]: String(letter.partition),
      [DLQ_HEADERS.offset]: message.offset,
      [DLQ_HEADERS.timestamp]: new Date().toISOString(),
    };
    const send = (value: Buffer | null, extra: IHeaders = {}) =>
      this.producer.send({ topic: this.topic, acks: -1, messages: [{ key: message.key, value, headers: { ...headers, ...extra } }] });
    try {
      await send(message.value);
    } catch (err) {
      if (!isMessageTooLarge(err)) throw err;
      await send(null, { [DLQ_HEADERS.valueDropped]: `${message.value?.length ?? 0} bytes` });
    }
  }
}
