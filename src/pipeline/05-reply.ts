import type { SliverResult } from '../codec/types.js';
import type { AvroCodec } from '../codec/codec.js';
import { isMessageTooLarge } from '../kafka/transient.js';
import type { ReplyPublisher } from '../results/reply-publisher.js';
import { encodeFitted } from '../results/fit.js';
import type { Answer } from './02-gate.js';

/** The smallest reply we still send when the reply topic refuses the fitted one (its max.message.bytes is below ours). */
const LAST_RESORT_BYTES = 4096;

/**
 * Step 5: publish the reply. One attempt per call (the pipeline retries
 * transient failures while the partition waits); a reply the broker finds
 * too large is cut down further rather than lost.
 */
export async function publishAnswer(replies: ReplyPublisher, codec: AvroCodec, answer: Answer): Promise<SliverResult> {
  try {
    await replies.send(answer.result, answer.value);
    return answer.result;
  } catch (err) {
    if (!isMessageTooLarge(err)) throw err;
    const smaller = encodeFitted(codec, answer.result, LAST_RESORT_BYTES);
    await replies.send(smaller.result, smaller.value);
    return smaller.result;
  }
}
