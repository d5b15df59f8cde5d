// Reads every sliver's ledger off a state topic, as an instance that owned
// all its partitions would (a fresh local store in a temp dir).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SliverLedger } from '../../src/codec/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { PartitionedLedgerStore } from '../../src/state/partitioned-store.js';
import { kafkaClient, uniqueName, withAdmin, withProducer } from './kafka.js';
import { codec } from './service.js';

export async function withLedgers<T>(topic: string, use: (get: (sliverId: string) => SliverLedger | undefined) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'amh-ledgers-'));
  const partitions = await withAdmin(async (admin) => (await admin.fetchTopicOffsets(topic)).map((p) => p.partition));
  try {
    return await withProducer(async (producer) => {
      const store = new PartitionedLedgerStore({ kafka: kafkaClient('amh-test-ledger'), producer, codec, topic, instanceId: uniqueName('check'), logger: silentLogger(), dir });
      await store.start();
      try {
        await store.assign(partitions);
        return await use((id) => store.get(id));
      } finally {
        await store.stop();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
