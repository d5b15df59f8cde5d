import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { SliverEvent } from '../../../src/codec/types.js';
import { eventLogger } from '../../../src/observability/event-logger.js';
import { createLogger, scrubberOf } from '../../../src/observability/logger.js';
import { REDACTED } from '../../../src/observability/redact.js';

// The fields eventLogger and secretsOf read; the rest of an event does not matter here.
const event = {
  event_id: 'ev-1',
  sliver_id: 'sl-1',
  resource_type: 'VM',
  operation: 'REDEEM',
  trace_id: null,
  slice: { user_ssh_keys: [{ key: 'ssh-ed25519 AAAAC3Nzsecretkey', comment: 'alice@h' }] },
  labels: { db_password: 'hunter2-value' },
} as unknown as SliverEvent;
const at = { topic: 't.events', partition: 2, offset: '17' };

async function linesOf(file: string, root: ReturnType<typeof createLogger>): Promise<Record<string, unknown>[]> {
  await new Promise<void>((r) => root.flush(() => r()));
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('eventLogger (made on first use)', () => {
  it('a line at an enabled level carries the event bindings and has the event secrets scrubbed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'amh-evlog-')), 'log');
    const root = createLogger({ level: 'info', destination: file, format: 'json' });
    const log = eventLogger(root, event, at);
    log.info({ stdout: 'set hunter2-value' }, 'password hunter2-value applied');
    log.child({ step: 'boot' }).warn('still hunter2-value');
    const [first, second] = await linesOf(file, root);
    expect(first).toMatchObject({ eventId: 'ev-1', sliverId: 'sl-1', resourceType: 'VM', operation: 'REDEEM', topic: 't.events', partition: 2, offset: '17', msg: `password ${REDACTED} applied`, stdout: `set ${REDACTED}` });
    expect(second).toMatchObject({ eventId: 'ev-1', step: 'boot', msg: `still ${REDACTED}` });
    expect(readFileSync(file, 'utf8')).not.toContain('hunter2-value');
  });

  it('at a level that writes nothing, no pino child is made, yet the scrubber knows the event secrets', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'amh-evlog-')), 'log');
    const root = createLogger({ level: 'warn', destination: file, format: 'json' });
    const child = vi.spyOn(root, 'child');
    const log = eventLogger(root, event, at);
    log.info('operation started');
    log.debug({ x: 1 }, 'detail');
    expect(child).not.toHaveBeenCalled();
    expect(scrubberOf(log).text('failed with hunter2-value')).toBe(`failed with ${REDACTED}`);
    expect(child).not.toHaveBeenCalled();
    expect(log.isLevelEnabled('info')).toBe(false);
    log.error('failed: hunter2-value');
    expect(child).toHaveBeenCalledTimes(1);
    const lines = await linesOf(file, root);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ eventId: 'ev-1', level: 50, msg: `failed: ${REDACTED}` });
  });
});
