import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, resolveFormat, withSecrets } from '../../../src/observability/logger.js';
import { REDACTED, Scrubber, isSensitiveKey, secretsOf } from '../../../src/observability/redact.js';

describe('Scrubber', () => {
  const scrubber = new Scrubber(['hunter2-secret', 'md5"key\nx']);

  it('redacts sensitive fields at any depth and under any casing, keeps counts and flags', () => {
    const out = scrubber.value({
      a: { b: [{ Password: 'p1', API_TOKEN: 't', nested: { bgp_key: 'k', ssh_key_count: 2, keys_changed: true } }] },
      user_ssh_keys: [{ key: 'x' }],
      password_env: 'AMH_NSO_PASSWORD',
      client_secret: null,
    });
    expect(out).toEqual({
      a: { b: [{ Password: REDACTED, API_TOKEN: REDACTED, nested: { bgp_key: REDACTED, ssh_key_count: 2, keys_changed: true } }] },
      user_ssh_keys: REDACTED,
      password_env: 'AMH_NSO_PASSWORD',
      client_secret: null,
    });
  });

  it('scrubs known values inside strings, also JSON-escaped, and SSH and private keys anywhere', () => {
    expect(scrubber.text('failed: hunter2-secret rejected')).toBe(`failed: ${REDACTED} rejected`);
    expect(scrubber.text(JSON.stringify({ k: 'md5"key\nx' }))).toBe(`{"k":"${REDACTED}"}`);
    expect(scrubber.text('key ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabc alice@h added')).toBe(`key ssh-ed25519 ${REDACTED} alice@h added`);
    const pem = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----';
    expect(scrubber.text(`k=${pem};`)).toBe(`k=${REDACTED};`);
    expect(scrubber.text(`k=${JSON.stringify(pem)}`)).toBe(`k="${REDACTED}"`);
  });

  it('does not touch the original, handles errors, cycles and short secrets', () => {
    const input: Record<string, unknown> = { msg: 'hunter2-secret' };
    input.self = input;
    const out = scrubber.value(input) as Record<string, unknown>;
    expect(input.msg).toBe('hunter2-secret');
    expect(out).toEqual({ msg: REDACTED, self: '[circular]' });
    const err = scrubber.value(new Error('bad hunter2-secret', { cause: new Error('because hunter2-secret') })) as Record<string, unknown>;
    expect(JSON.stringify(err)).not.toContain('hunter2');
    expect(err.message).toContain(REDACTED);
    expect(new Scrubber(['abc']).text('abc')).toBe('abc'); // too short to scrub from text
  });
});

describe('secretsOf', () => {
  it('finds SSH keys, POA keys, BGP keys and secret-named labels, not key comments or ordinary fields', () => {
    const secrets = secretsOf({
      sliver_id: 's1',
      slice: { user_ssh_keys: [{ key: 'ssh-ed25519 AAAA1', comment: 'alice@laptop' }] },
      poa: { args: { keys: [{ key: 'ssh-rsa BBBB2', comment: 'bob' }] } },
      network_sliver: { interfaces: [{ peering: { asn: 65001, bgp_key: 'bgp-3' } }], labels: { nso_password: 'pw-4', colour: 'blue' } },
      node_sliver: { labels: { api_token: 'tok-5' }, components: [{ labels: { secret: 'sec-6' } }] },
    });
    expect(secrets.sort()).toEqual(['bgp-3', 'pw-4', 'sec-6', 'ssh-ed25519 AAAA1', 'ssh-rsa BBBB2', 'tok-5']);
  });
});

describe('logger', () => {
  it('every line is redacted, and a child made withSecrets scrubs the event values from messages, fields and errors', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'amh-log-')), 'log');
    const root = createLogger({ level: 'debug', destination: file, format: 'json' });
    const log = withSecrets(root.child({ eventId: 'e1' }), ['bgp-key-value']);
    log.child({ component: 'x' }).info({ result: { stdout: 'configured bgp-key-value' }, password: 'p' }, 'with %s', 'bgp-key-value');
    log.error(new Error('refused bgp-key-value'));
    root.info({ key: 'ssh-rsa AAAAB3NzaC1yc2Eroot' }, 'root line');
    await new Promise<void>((r) => root.flush(() => r()));
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ eventId: 'e1', component: 'x', msg: `with ${REDACTED}`, result: { stdout: `configured ${REDACTED}` }, password: REDACTED });
    expect(lines[1]).toMatchObject({ eventId: 'e1', msg: `refused ${REDACTED}`, err: { message: `refused ${REDACTED}` } });
    expect(lines[2]).toMatchObject({ key: `ssh-rsa ${REDACTED}` });
    expect(readFileSync(file, 'utf8')).not.toContain('bgp-key-value');
  });

  it('format: explicit wins, then AMH_LOG_FORMAT, then JSON for a file or pipe', () => {
    expect(resolveFormat('pretty', '/tmp/x')).toBe('pretty');
    expect(resolveFormat('auto', '/tmp/x')).toBe('json');
    process.env.AMH_LOG_FORMAT = 'pretty';
    try {
      expect(resolveFormat(undefined, '/tmp/x')).toBe('pretty');
      expect(resolveFormat('json', 1)).toBe('json');
    } finally {
      delete process.env.AMH_LOG_FORMAT;
    }
  });

  it('isSensitiveKey', () => {
    expect(['password', 'db_passwd', 'apiKey', 'private_key', 'bgp_key', 'Authorization', 'ssh_keys'].every(isSensitiveKey)).toBe(true);
    expect(['password_env', 'ssh_key_count', 'name', 'keys_changed'].some(isSensitiveKey)).toBe(false);
  });
});
