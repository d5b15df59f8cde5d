import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StdioServer } from '../../src/ansible/warm/stdio-server.js';
import { silentLogger } from '../../src/observability/logger.js';

/** What a warm child does: connect, say `<token> <kind> <pid>`, then write its output. */
function childStream(path: string, header: string, ...chunks: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => {
      socket.write(`${header}\n`);
      for (const chunk of chunks) socket.write(chunk);
      socket.end(resolve);
    });
    socket.on('error', reject);
  });
}

describe('warm runner stdio server', () => {
  let dir: string;
  let server: StdioServer;
  let strays: number[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'amh-stdio-'));
    strays = [];
    server = new StdioServer(dir, silentLogger(), (pid) => strays.push(pid));
    await server.listen();
  });

  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('routes each run\'s stdout and stderr by its token, bytes right after the header included', async () => {
    const out = { a1: '', a2: '', b1: '', b2: '' };
    const a = server.route({ stdout: (c) => (out.a1 += c), stderr: (c) => (out.a2 += c) });
    const b = server.route({ stdout: (c) => (out.b1 += c), stderr: (c) => (out.b2 += c) });
    await Promise.all([
      childStream(server.path, `${a.token} stdout 101`, '{"event":"a"}\n', 'more a\n'),
      childStream(server.path, `${b.token} stdout 102`, '{"event":"b"}\n'),
      childStream(server.path, `${a.token} stderr 101`, 'warning a'),
      childStream(server.path, `${b.token} stderr 102`, ''),
    ]);
    await Promise.all([a.ended, b.ended]);
    expect(out).toEqual({ a1: '{"event":"a"}\nmore a\n', a2: 'warning a', b1: '{"event":"b"}\n', b2: '' });
    expect(strays).toEqual([]);
  });

  it('a child that exits before connecting does not hold its run: ended after the grace', async () => {
    const route = server.route({ stdout: () => undefined, stderr: () => undefined });
    const started = Date.now();
    route.childExited(50);
    await route.ended;
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('kills the group of a late child of a run given up on, and only such a child', async () => {
    const route = server.route({ stdout: () => undefined, stderr: () => undefined });
    route.dispose(); // e.g. the zygote did not answer in time: the run was spawned instead
    await childStream(server.path, `${route.token} stdout 4242`, 'late');
    await childStream(server.path, `${'f'.repeat(32)} stdout 4343`, 'made-up token');
    await new Promise((r) => setTimeout(r, 50));
    expect(strays).toEqual([4242]);
  });
});
