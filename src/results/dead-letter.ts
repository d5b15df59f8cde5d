import type { IHeaders, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from '../observability/logger.js';
import { publishWithRetry } from './publish-retry.js';

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
} as const;

/**
 * Sends undecodable messages to the dead-letter topic: the original key,
 * value and headers, plus headers saying why and where from.
 */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: Pick<Producer, 'send'>,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  async publish(letter: DeadLetter, signal?: AbortSignal): Promise<void> {
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
    await publishWithRetry(
      () => this.producer.send({ topic: this.topic, acks: -1, messages: [{ key: message.key, value: message.value, headers }] }),
      { what: `dead letter ${letter.topic}/${letter.partition}@${message.offset}`, logger: this.logger, signal },
    );
  }
}
