// Checks a local ledger store in a child process before the service opens it:
// LMDB trusts its files, and a damaged one can crash the process that opens it
// (a segmentation fault, not an error). Exit 0: it opened, every record read and every ledger decoded.
// Usage: node verify-local.js <dir> <topic>
import { open } from 'lmdb';
import { AvroCodec, SchemaCatalog } from '../codec/index.js';
import { LMDB_OPTIONS } from './local-ledgers.js';
import { fromLocalValue } from './local-value.js';

const [dir, topic] = process.argv.slice(2);
try {
  const root = open({ path: dir as string, ...LMDB_OPTIONS, readOnly: true });
  const meta = root.openDB<{ format: number; topic: string }, string>({ name: 'meta' }).get('meta');
  if (meta && meta.topic !== topic) process.exit(3);
  const codec = new AvroCodec(SchemaCatalog.load());
  let n = 0;
  for (const { value } of root.openDB<Buffer, string>({ name: 'ledgers', encoding: 'binary' }).getRange({})) {
    fromLocalValue(codec, value);
    n++;
  }
  for (const name of ['heads', 'by-partition', 'checkpoints']) {
    const db = root.openDB({ name, ...(name === 'by-partition' ? { keyEncoding: 'ordered-binary' as const } : {}) });
    for (const _ of db.getRange({})) n++;
  }
  await root.close();
  process.stdout.write(`${n}\n`);
  process.exit(0);
} catch {
  process.exit(2);
}
