import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PLUGINS } from '../../src/handlers/index.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { echoPlugin } from '../fixtures/plugins/echo-plugin.mjs';
import { produceRaw } from '../helpers/kafka.js';
import { codec, startTestService, type TestService } from '../helpers/service.js';
import { netEvent, port, simHandlers } from '../helpers/sim-network.js';
import { gpu, poaEvent, vmWith } from '../helpers/sim.js';

// Every kind of secret an event can carry, in every place the schema allows,
// through the real service at debug level (real broker, real ansible-playbook):
// no log line, no reply and no dead-letter header may contain any of them.
// Each secret carries a unique marker; a leak shows as its marker, however it
// was escaped or embedded.
const tag = randomUUID().replace(/-/g, '').slice(0, 12);
const SECRETS = {
  userSshKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIuserkey${tag}`,
  echoSshKey: `ssh-rsa AAAAB3NzaC1yc2EAAAADAQABechokey${tag} alice@laptop`,
  poaSshKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIpoakey${tag}`,
  bgpKey: `bgpkey${tag}`,
  password: `pw!passwd${tag}"quote`,
  token: `tok_token${tag}`,
  privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAprivkey${tag}\n-----END OPENSSH PRIVATE KEY-----`,
  componentToken: `comptok${tag}`,
  networkPassword: `netpw${tag}`,
  echoPassword: `echopw${tag}`,
  dlqToken: `dlqtok${tag}`,
};
const MARKERS = Object.fromEntries(Object.entries(SECRETS).map(([kind, v]) => [kind, new RegExp(`[a-z]+${tag}`).exec(v)![0]]));

describe('secrets never reach logs, replies or dead letters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amh-redact-'));
  const logFile = join(dir, 'amh.log');
  let logger: Logger;
  let amh: TestService;
  let lines: string[] = [];
  let replies: string[] = [];
  let deadLetterHeaders = '';
  let echoMessage = '';

  beforeAll(async () => {
    logger = createLogger({ level: 'debug', destination: logFile, format: 'json' });
    const stateDir = join(dir, 'sim');
    const handlers = simHandlers(stateDir).handlers as Record<string, unknown>;
    amh = await startTestService({ handlers: { ...handlers, echo: { plugin: 'echo' } } }, { plugins: [...BUILTIN_PLUGINS, echoPlugin], logger });

    const vmId = `redact-vm-${tag}`;
    const vm = vmWith(vmId, [{ ...gpu(), labels: { access_token: SECRETS.componentToken } }], {
      labels: { db_password: SECRETS.password, api_token: SECRETS.token, ssh_private_key: SECRETS.privateKey },
    });
    vm.slice = { user_ssh_keys: [{ key: SECRETS.userSshKey, comment: 'alice' }] };
    const poa = poaEvent(vmId, 'addkey', { keys: [{ key: SECRETS.poaSshKey, comment: 'bob' }] });
    const l3 = netEvent('L3VPN', {
      labels: { nso_password: SECRETS.networkPassword },
      interfaces: [
        { name: 'a', site: 'SIM1', device: 'sim-sw-1', port: port(3), peering: { asn: 65001, ipv4_subnet: '192.0.2.0/31', bgp_key: SECRETS.bgpKey } },
        { name: 'b', site: 'SIM2', device: 'sim-sw-2', port: port(3), peering: { gateway: '10.1.1.1' } },
      ],
    });
    const echo = {
      event_id: randomUUID(),
      operation: 'REDEEM',
      sliver_id: `redact-echo-${tag}`,
      slice_id: 'slice-redact',
      resource_type: 'Echo',
      sequence: 1,
      timestamp: Date.now(),
      node_sliver: { name: 'echo', labels: { password: SECRETS.echoPassword, token: SECRETS.token } },
      slice: { user_ssh_keys: [{ key: SECRETS.echoSshKey, comment: 'alice' }] },
    };
    await amh.send(vm, poa, l3, echo);
    // An undecodable message that carries a secret: cut short, so it cannot be decoded.
    const whole = codec.encode('event', { ...echo, event_id: randomUUID(), sliver_id: 'redact-dlq', node_sliver: { name: 'x', labels: { token: SECRETS.dlqToken } } });
    await produceRaw(amh.topics.events, [{ key: 'redact-dlq', value: whole.subarray(0, whole.length - 3) }]);

    const results = await amh.replies(4, 120_000);
    replies = results.map((r) => JSON.stringify(r));
    const byId = (e: Record<string, unknown>) => results.find((r) => r.event_id === e.event_id);
    const [vmReply, poaReply, l3Reply, echoReply] = [byId(vm), byId(poa), byId(l3), byId(echo)];
    echoMessage = echoReply?.message ?? '';
    expect(vmReply?.outcome, vmReply?.message).toBe('OK');
    expect(poaReply?.outcome, poaReply?.message).toBe('OK');
    expect(l3Reply?.outcome, l3Reply?.message).toBe('OK');
    expect(echoReply?.outcome).toBe('FAILED');
    const dead = await amh.deadLetters(1);
    deadLetterHeaders = JSON.stringify(Object.fromEntries(Object.entries(dead[0]?.headers ?? {}).map(([k, v]) => [k, v?.toString()])));
    await amh.stop();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
  }, 240_000);

  afterAll(async () => {
    await amh?.stop();
  });

  it('the log is the debug log of the whole run: task results, errors and the dead letter are in it', () => {
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.some((l) => l.level === 20 && l.task === 'a module that echoes its input' && l.result !== undefined)).toBe(true);
    expect(parsed.some((l) => l.level === 20 && l.task === 'boot' && l.host === 'localhost')).toBe(true);
    expect(parsed.some((l) => String(l.msg).includes('FAILED'))).toBe(true);
    expect(parsed.some((l) => String(l.msg).includes('dead-letter'))).toBe(true);
    // The secrets were there to be redacted.
    expect(lines.join('\n')).toContain('[redacted]');
  });

  it.each(Object.keys(SECRETS))('no log line contains the %s', (kind) => {
    const marker = MARKERS[kind]!;
    const leaks = lines.filter((l) => l.includes(marker));
    expect(leaks.map((l) => l.slice(0, 600)), `${kind} (${marker}) leaked into ${leaks.length} log line(s)`).toEqual([]);
  });

  it('no reply and no dead-letter header contains any secret', () => {
    for (const [kind, marker] of Object.entries(MARKERS)) {
      for (const reply of replies) expect(reply, `${kind} in a reply`).not.toContain(marker);
      expect(deadLetterHeaders, `${kind} in the dead letter's headers`).not.toContain(marker);
    }
    // The failed echo still says why, without the values.
    expect(echoMessage).toContain('cannot configure keys');
  });
});
