// The bulk ledger restore child: forked by the ledger store (child-restore.ts)
// with an IPC channel, it receives one job, restores those partitions into the
// parent's local store (bulk-restore.ts) and exits; the memory its restore
// touched goes with it. Exit 0 after `done`; 1 after `failed`; 70 when the
// parent went away (nobody would use what it restores).
import { pino } from 'pino';
import { errorMessage } from '../errors/index.js';
import { restorePartitions } from './bulk-restore.js';
import type { ChildMessage, ParentMessage, RestoreJob } from './restore-protocol.js';

const channel = process.send?.bind(process);
if (!channel) {
  process.stderr.write('restore-child.js is started by the ledger store, with an IPC channel\n');
  process.exit(2);
}

const send = (m: ChildMessage): Promise<void> =>
  new Promise((resolve, reject) => channel(m, undefined, undefined, (err: Error | null) => (err ? reject(err) : resolve())));

process.on('disconnect', () => process.exit(70));
process.once('message', (m: ParentMessage) => void run(m.job));

async function run(job: RestoreJob): Promise<void> {
  const logger = pino(
    { level: job.logLevel, base: { component: 'ledger-restore-child', childPid: process.pid } },
    { write: (line: string) => void send({ type: 'log', line }).catch(() => undefined) },
  );
  try {
    await restorePartitions(job, send, logger);
    await send({ type: 'done' });
    process.exit(0);
  } catch (err) {
    await send({ type: 'failed', message: errorMessage(err) }).catch(() => undefined);
    process.exit(1);
  }
}
