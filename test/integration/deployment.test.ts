import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyEnvOverrides, configSchema, loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { REPO } from '../helpers/config.js';
import { dockerEnv, execForm, parseDockerfile } from '../helpers/dockerfile.js';

/**
 * No docker engine runs here: the Dockerfile and docker-compose.yml are read as files and checked against the app
 * itself (its config loader, its CLI, its sources), so renaming a key, a command or a topic breaks this test
 * instead of a site's deployment.
 */
const run = promisify(execFile);
const CLI = join(REPO, 'dist/cli/main.js');
const dockerfile = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
const compose = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string | number>; command?: string[]; ports?: string[]; healthcheck?: { test: string[] }; secrets?: string[]; depends_on?: Record<string, { condition: string }> }>;
  secrets: Record<string, unknown>;
};
const service = (name: string) => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
const env = (name: string): Record<string, string> => Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, String(v)]));
const instructions = (name: string) => dockerfile.filter((i) => i.instruction === name);
const last = (name: string) => instructions(name).at(-1)?.args ?? '';

/**
 * Config sections other helpers add (TLS/SASL on helper/secure, the HTTP server on helper/http). While the schema
 * lacks one, variables under it cannot be checked against the loader; as soon as it has it, they are checked like
 * every other variable.
 */
const PENDING_SECTIONS = ['kafka.sasl', 'kafka.ssl', 'http'];
/** The HTTP server's port and health paths as helper/http builds them (`http.port`, default 9100). */
const HTTP_PORT_DEFAULT = 9100;

/** 'config' when the loader maps the variable to a config path; the missing section when that is still pending. */
function classify(key: string, value: string): 'config' | 'elsewhere' | { pending: string } {
  if (!key.startsWith('AMH_')) return 'elsewhere';
  try {
    const origins = applyEnvOverrides({}, { [key]: value }, configSchema);
    return origins.size > 0 ? 'config' : 'elsewhere';
  } catch (err) {
    const missing = err instanceof ConfigError ? /no config key `([^`]+)`/.exec(err.message)?.[1] : undefined;
    if (missing && PENDING_SECTIONS.includes(missing)) return { pending: missing };
    throw err;
  }
}

/** Compose secrets (`/run/secrets/<name>`) as files with a stand-in value, for a loader that reads them at start-up. */
const secretsDir = mkdtempSync(join(tmpdir(), 'amh-secrets-'));
function standIn(value: string): string {
  const name = /^\/run\/secrets\/(\w+)$/.exec(value)?.[1];
  if (!name) return value;
  writeFileSync(join(secretsDir, name), 'stand-in-password\n');
  return join(secretsDir, name);
}

/** The config `amh` would load in the container with these variables (pending ones left out). */
function containerConfig(vars: Record<string, string>) {
  const usable = Object.fromEntries(Object.entries(vars).filter(([k, v]) => classify(k, v) === 'config').map(([k, v]) => [k, standIn(v)]));
  return loadConfig({ path: join(REPO, 'config/amh.yaml'), env: usable });
}

async function isSubcommand(args: string[]): Promise<boolean> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  const { stdout } = await run(process.execPath, [CLI, ...args, '--help'], { timeout: 60_000 });
  return stdout.startsWith(`Usage: amh ${args.join(' ')}`);
}

describe('Dockerfile', () => {
  const image = dockerEnv(dockerfile);

  it('runs amh as a non-root user under tini, a real subcommand by default', async () => {
    const user = last('USER');
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(instructions('RUN').some((r) => r.args.includes(`useradd`) && r.args.includes(` ${user}`))).toBe(true);
    const entrypoint = execForm(last('ENTRYPOINT'));
    expect(entrypoint.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(instructions('RUN').some((r) => /apt-get install .*\btini\b/.test(r.args))).toBe(true);
    expect(entrypoint.slice(2)).toEqual(['node', `${last('WORKDIR')}/dist/cli/main.js`]);
    expect(await isSubcommand(execForm(last('CMD')))).toBe(true);
  });

  it('installs the pinned ansible with the project script and points amh at it', () => {
    expect(instructions('COPY').some((c) => c.args.includes('requirements-ansible.txt'))).toBe(true);
    expect(instructions('RUN').some((r) => r.args.includes('bash scripts/ensure-ansible.sh'))).toBe(true);
    expect(image.AMH_ANSIBLE_PLAYBOOK).toBe(`${last('WORKDIR')}/.venv/bin/ansible-playbook`);
  });

  it('copies only what exists, and everything the app reads at run time', () => {
    const sources = instructions('COPY').flatMap((c) => c.args.split(/\s+/).slice(0, -1));
    for (const source of sources) expect(existsSync(join(REPO, source)), source).toBe(true);
    for (const needed of ['src', 'schemas', 'config', 'playbooks', 'package.json', 'package-lock.json']) expect(sources).toContain(needed);
  });

  it('sets only variables the app reads, and they load', () => {
    for (const [key, value] of Object.entries(image)) {
      const kind = classify(key, value);
      if (kind === 'config') expect([...containerConfig({ [key]: value }).envOrigins.values()], `${key} is not applied`).toEqual([key]);
      else if (key.startsWith('AMH_')) expect(readSources().includes(`process.env.${key}`), `${key} is read nowhere`).toBe(true);
    }
    const config = containerConfig(image);
    expect(config.runtime.work_dir.startsWith('/var/lib/amh/')).toBe(true);
    expect(config.runtime.ledger_dir.startsWith('/var/lib/amh/')).toBe(true);
    expect(instructions('VOLUME').map((v) => v.args).join(' ')).toContain('/var/lib/amh');
  });

  it('starts node with the bounded young generation the memory figures assume (README "Memory")', async () => {
    expect(image.NODE_OPTIONS?.split(/\s+/)).toContain('--max-semi-space-size=4');
    // Node refuses to start with a flag NODE_OPTIONS does not allow: the image's value must be one it takes.
    const { stdout } = await run(process.execPath, ['-e', "process.stdout.write('started')"], { env: { ...process.env, NODE_OPTIONS: image.NODE_OPTIONS }, timeout: 30_000 });
    expect(stdout).toBe('started');
  });

  it('exposes the HTTP port and checks /healthz on it', () => {
    expect(instructions('EXPOSE').flatMap((e) => e.args.split(/\s+/))).toContain(String(HTTP_PORT_DEFAULT));
    const probe = execForm(last('HEALTHCHECK'));
    expect(probe.slice(0, 2)).toEqual(['node', '-e']);
    expect(probe[2]).toContain(`process.env.AMH_HTTP__PORT || ${HTTP_PORT_DEFAULT}`);
    expect(probe[2]).toMatch(/'\/healthz'\)/);
  });
});

describe('docker-compose.yml', () => {
  it('has the broker, the one-shot topics service and the consumer, in that order of start', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['amh', 'kafka', 'topics']);
    expect(service('topics').depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
    expect(service('amh').depends_on).toEqual({ kafka: { condition: 'service_healthy' }, topics: { condition: 'service_completed_successfully' } });
  });

  it('runs real amh subcommands', async () => {
    expect(service('topics').command).toEqual(['topics', 'create']);
    expect(await isSubcommand(service('topics').command ?? [])).toBe(true);
    expect(await isSubcommand(service('amh').command ?? [])).toBe(true);
  });

  it('runs Kafka in KRaft mode with SASL only, on the listener amh is pointed at', () => {
    const kafka = env('kafka');
    expect(kafka.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(kafka.KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(/^1@kafka:9093$/);
    const advertised = (kafka.KAFKA_ADVERTISED_LISTENERS ?? '').split(',');
    expect(advertised.every((l) => l.startsWith('SASL_'))).toBe(true);
    const protocols = Object.fromEntries((kafka.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '').split(',').map((p) => p.split(':')));
    for (const l of advertised) expect(protocols[l.split('://')[0] as string]).toMatch(/^SASL_(PLAINTEXT|SSL)$/);
    for (const name of ['topics', 'amh']) {
      expect(containerConfig(env(name)).kafka.brokers).toEqual(advertised.map((l) => l.split('://')[1]));
      const amh = env(name);
      const mechanism = (amh.AMH_KAFKA__SASL__MECHANISM ?? '').toUpperCase();
      expect((kafka.KAFKA_SASL_ENABLED_MECHANISMS ?? '').split(',')).toContain(mechanism);
      // The broker accepts the account amh logs in with; passwords come from .env, never written here.
      const jaas = kafka.KAFKA_LISTENER_NAME_SASL__PLAINTEXT_PLAIN_SASL_JAAS_CONFIG ?? '';
      expect(jaas).toContain(`user_${amh.AMH_KAFKA__SASL__USERNAME}="\${KAFKA_AMH_PASSWORD:?`);
      expect([...jaas.matchAll(/(?:password|user_\w+)="([^"]*)"/g)].every((m) => (m[1] as string).startsWith('${'))).toBe(true);
      // amh reads its password from a secret file that compose mounts.
      const file = amh.AMH_KAFKA__SASL__PASSWORD_FILE ?? '';
      const secret = /^\/run\/secrets\/(\w+)$/.exec(file)?.[1];
      expect(secret && service(name).secrets?.includes(secret) && secret in compose.secrets, file).toBe(true);
    }
  });

  it('sets only variables the config loader reads, with the topic names of the config defaults', () => {
    const pending = new Set<string>();
    for (const name of ['topics', 'amh']) {
      // Loaded with all of the service's variables at once: a section (kafka.sasl) is only valid whole.
      const applied = [...containerConfig(env(name)).envOrigins.values()];
      for (const [key, value] of Object.entries(env(name))) {
        const kind = classify(key, value);
        if (typeof kind === 'object') pending.add(kind.pending);
        else {
          expect(kind, `${name}: ${key} is not a config override`).toBe('config');
          expect(applied, `${name}: ${key} is not applied`).toContain(key);
        }
      }
    }
    // Pending sections only while the schema lacks them (helper/secure adds kafka.sasl).
    for (const section of pending) expect(PENDING_SECTIONS).toContain(section);
    const topics = containerConfig(env('topics')).kafka;
    const consumer = containerConfig(env('amh')).kafka;
    const defaults = configSchema.parse({ handlers: { vm: {} } }).kafka;
    expect(topics.topics).toEqual(defaults.topics);
    expect(consumer.topics).toEqual(defaults.topics);
    expect(consumer.partitions).toBe(topics.partitions);
    expect(consumer.create_topics).toBe(false);
  });

  it('publishes the HTTP port and uses /readyz as the consumer health check', () => {
    const amh = env('amh');
    const port = Number(amh.AMH_HTTP__PORT ?? HTTP_PORT_DEFAULT);
    // Published on the host's loopback (the status page has no authentication), container port = http.port.
    expect(service('amh').ports).toContain(`127.0.0.1:${port}:${port}`);
    const test = service('amh').healthcheck?.test ?? [];
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(test[3]).toContain(`http://127.0.0.1:${port}/readyz`);
    expect(service('topics').ports).toBeUndefined();
  });

  it('names in .env.example every variable it interpolates', () => {
    const text = readFileSync(join(REPO, 'docker-compose.yml'), 'utf8');
    const used = new Set([...text.matchAll(/\$\{(\w+)[:?}]/g)].map((m) => m[1] as string));
    for (const [, source] of Object.entries(compose.secrets)) used.add((source as { environment: string }).environment);
    const example = readFileSync(join(REPO, '.env.example'), 'utf8');
    const declared = new Set([...example.matchAll(/^(\w+)=/gm)].map((m) => m[1]));
    expect([...used].sort()).toEqual([...declared].sort());
  });
});

let sources: string | undefined;
function readSources(): string {
  if (sources === undefined) {
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    sources = walk(join(REPO, 'src')).map((f) => readFileSync(f, 'utf8')).join('\n');
  }
  return sources;
}
