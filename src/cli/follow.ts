import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { AvroCodec } from '../codec/codec.js';
import type { SliverProgress, SliverResult } from '../codec/types.js';
import { errorMessage } from '../errors/index.js';
import { liveLine, progressLine, resultLine, type InFlightView } from './progress-view.js';

export interface FollowOptions {
  kafka: Kafka;
  codec: AvroCodec;
  replies: string;
  /** The progress topic; null when `kafka.topics.progress` is not set (results only). */
  progress: string | null;
  fromBeginning: boolean;
  /** Only these event ids / this sliver. */
  eventIds: Set<string> | null;
  sliver: string | null;
  /** Stop after this many results. */
  count?: number;
  out: NodeJS.WriteStream;
  err: NodeJS.WritableStream;
  /** Resolves to the exit code when following should end (timeout, signal). */
  stopped: Promise<number>;
}

/**
 * `amh tail --follow`: the reply topic and the progress topic together. On a
 * terminal, one live line per in-flight sliver (progress bar, step, task n of
 * m, host), redrawn in place, with results printed above them as they come;
 * otherwise plain appended lines (`progress ...`, `result ...`) for logs and
 * scripts. Returns the exit code.
 */
export async function follow(o: FollowOptions): Promise<number> {
  const live = o.out.isTTY === true;
  const inFlight = new Map<string, InFlightView>();
  let drawn = 0;
  let results = 0;
  let done: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (done = resolve));

  const redraw = (): void => {
    if (!live) return;
    const columns = o.out.columns || 120;
    const now = Date.now();
    // Up to the first live line, clear to the end of the screen, draw again.
    let text = drawn > 0 ? `\x1b[${drawn}F\x1b[J` : '';
    const lines = [...inFlight.values()].map((v) => liveLine(v, now, columns));
    text += lines.map((l) => `${l}\n`).join('');
    drawn = lines.length;
    o.out.write(text);
  };
  const print = (line: string): void => {
    if (live && drawn > 0) {
      o.out.write(`\x1b[${drawn}F\x1b[J`);
      drawn = 0;
    }
    o.out.write(`${line}\n`);
    redraw();
  };
  const wanted = (eventId: string, sliverId: string): boolean =>
    (!o.eventIds || o.eventIds.has(eventId)) && (!o.sliver || o.sliver === sliverId);

  const onProgress = (p: SliverProgress): void => {
    if (!wanted(p.event_id, p.sliver_id)) return;
    const known = inFlight.get(p.sliver_id);
    inFlight.set(p.sliver_id, { progress: p, since: known && known.progress.event_id === p.event_id ? known.since : Date.now() });
    if (live) redraw();
    else print(progressLine(p));
  };
  const onResult = (r: SliverResult): void => {
    if (!wanted(r.event_id, r.sliver_id)) return;
    if (inFlight.get(r.sliver_id)?.progress.event_id === r.event_id) inFlight.delete(r.sliver_id);
    print(resultLine(r));
    results++;
    if (o.count !== undefined && results >= o.count) done(0);
  };

  const consumer = o.kafka.consumer({ groupId: `amh-tail-${randomUUID()}`, maxWaitTimeInMs: 250 });
  const topics = [o.replies, ...(o.progress ? [o.progress] : [])];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: o.fromBeginning });
    consumer.on(consumer.events.GROUP_JOIN, () => o.err.write(`amh tail: following ${topics.join(' and ')}\n`));
    if (!o.progress) o.err.write('amh tail: kafka.topics.progress is not set: showing results only\n');
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        try {
          if (topic === o.progress) onProgress((await o.codec.decode('progress', message.value)).value);
          else onResult((await o.codec.decode('result', message.value)).value);
        } catch (err) {
          print(`undecodable ${topic}/${partition}@${message.offset}: ${errorMessage(err)}`);
        }
      },
    });
    // Elapsed times on the live lines move even between records.
    const ticker = live ? setInterval(redraw, 1000) : null;
    const code = await Promise.race([finished, o.stopped]);
    if (ticker) clearInterval(ticker);
    return code;
  } finally {
    await consumer.disconnect();
  }
}
