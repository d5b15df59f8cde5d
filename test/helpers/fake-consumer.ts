// A stand-in for the slice of a kafkajs Consumer the Kafka-edge classes use
// (run/eachMessage, pause/resume, commitOffsets, GROUP_JOIN and CRASH
// events), driven by the test: join with an assignment, deliver messages,
// crash (kafkajs forgets paused topics when it restarts a consumer).
import type { Consumer, EachMessagePayload, KafkaMessage } from 'kafkajs';

type Listener = (event: { payload: Record<string, unknown> }) => void;

export interface CommittedOffsets {
  topic: string;
  partition: number;
  offset: string;
}

export class FakeConsumer {
  readonly events = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash' } as const;
  readonly commits: CommittedOffsets[][] = [];
  private readonly listeners = new Map<string, Listener[]>();
  private eachMessage: ((payload: EachMessagePayload) => Promise<void>) | null = null;
  private pausedTopics = new Set<string>();
  /** Make the next commitOffsets calls fail with this. */
  failCommits: Error | null = null;
  /** Like kafkajs's runner: false from a crash until the restarted consumer joined; commits made meanwhile are dropped without an error. */
  private running = false;
  private members = 0;
  /** Commits kafkajs accepted and silently dropped because the consumer was not running. */
  dropped = 0;

  constructor(readonly topic: string) {}

  /** Typed as the real thing for the classes under test. */
  asConsumer(): Consumer {
    return this as unknown as Consumer;
  }

  async connect(): Promise<void> {}
  async subscribe(): Promise<void> {}
  async disconnect(): Promise<void> {}

  on(event: string, listener: Listener): () => void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return () => undefined;
  }

  /** How many times run() was called. */
  runs = 0;

  async run(config: { eachMessage: (payload: EachMessagePayload) => Promise<void> }): Promise<void> {
    this.runs++;
    this.eachMessage = config.eachMessage;
  }

  pause(topics: { topic: string }[]): void {
    for (const t of topics) this.pausedTopics.add(t.topic);
  }

  resume(topics: { topic: string }[]): void {
    for (const t of topics) this.pausedTopics.delete(t.topic);
  }

  isPaused(): boolean {
    return this.pausedTopics.has(this.topic);
  }

  async commitOffsets(offsets: CommittedOffsets[]): Promise<void> {
    if (this.failCommits) throw this.failCommits;
    if (!this.running) {
      this.dropped++;
      return; // kafkajs: "consumer not running, exiting"
    }
    this.commits.push(offsets);
  }

  /** The last committed offset per partition. */
  committed(): Map<number, string> {
    const last = new Map<number, string>();
    for (const batch of this.commits) for (const c of batch) last.set(c.partition, c.offset);
    return last;
  }

  /** A group join; the member id stays the same until a crash (kafkajs emits GROUP_JOIN before it runs again). */
  join(partitions: number[]): void {
    if (this.members === 0) this.members = 1;
    this.emit(this.events.GROUP_JOIN, { memberId: `member-${this.members}`, memberAssignment: { [this.topic]: partitions } });
    this.running = true;
  }

  /** kafkajs restarting a crashed consumer builds a new consumer group (a new member, paused topics forgotten). */
  crash(restart: boolean, error = new Error('connection lost')): void {
    this.running = false;
    this.members++;
    this.pausedTopics = new Set();
    this.emit(this.events.CRASH, { error, restart });
  }

  async deliver(partition: number, offset: number, value: Buffer | null = Buffer.from('x'), key: string | null = null): Promise<void> {
    if (!this.eachMessage) throw new Error('run() was not called');
    if (this.isPaused()) throw new Error(`delivering to paused topic ${this.topic}`);
    const message = { key: key === null ? null : Buffer.from(key), value, offset: String(offset), timestamp: String(Date.now()), attributes: 0, headers: {} } as KafkaMessage;
    await this.eachMessage({ topic: this.topic, partition, message, heartbeat: async () => undefined, pause: () => () => undefined });
  }

  private emit(event: string, payload: Record<string, unknown>): void {
    for (const l of this.listeners.get(event) ?? []) l({ payload });
  }
}
