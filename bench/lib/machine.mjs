// The facts BENCHMARKS.md states about the run: machine, load, versions, commit.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';

const quiet = (file, args, opts = {}) => {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000, ...opts }).trim();
  } catch {
    return null;
  }
};

/** `1.92 / 1.40 / 0.88` (1, 5, 15 min). */
export function load() {
  return loadavg().map((l) => l.toFixed(2)).join(' / ');
}

/** The ansible-playbook the runner would use (AMH_ANSIBLE_PLAYBOOK, the repo's .venv, PATH), or null. */
export function ansiblePlaybook(repo) {
  if (process.env.AMH_ANSIBLE_PLAYBOOK) return process.env.AMH_ANSIBLE_PLAYBOOK;
  const venv = join(repo, '.venv', 'bin', 'ansible-playbook');
  if (existsSync(venv)) return venv;
  return quiet('sh', ['-c', 'command -v ansible-playbook']) || null;
}

function ansibleVersion(repo) {
  const bin = ansiblePlaybook(repo);
  if (!bin) return 'not found';
  const first = quiet(bin, ['--version'])?.split('\n')[0] ?? '';
  return first.match(/core ([\d.]+)/)?.[1] ?? (first || 'unknown');
}

/** The version of a Kafka broker running on this machine (from its class path), else what scripts/kafka.sh would start. */
function kafkaVersion(repo) {
  const ps = quiet('ps', ['-eo', 'args']) ?? '';
  const line = ps.split('\n').find((l) => l.includes('kafka.Kafka'));
  const running = line?.match(/kafka\/(\d+\.\d+\.\d+)\/libs/)?.[1] ?? line?.match(/kafka_[\d.]+-(\d+\.\d+\.\d+)/)?.[1];
  if (running) return running;
  const script = quiet('sed', ['-n', 's/^VERSION="${AMH_KAFKA_VERSION:-\\(.*\\)}"$/\\1/p', join(repo, 'scripts', 'kafka.sh')]);
  return `${process.env.AMH_KAFKA_VERSION ?? script ?? 'unknown'} (no local broker seen; scripts/kafka.sh's version)`;
}

/** Everything but the load after the run and the command. */
export function machine(repo) {
  const c = cpus();
  const commit = quiet('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repo }) ?? 'unknown';
  const dirty = quiet('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repo });
  return {
    date: new Date().toISOString(),
    commit: dirty ? `${commit} (with uncommitted changes)` : commit,
    cpus: c.length,
    cpuModel: c[0]?.model?.trim() ?? 'unknown',
    ramGiB: (totalmem() / 1024 ** 3).toFixed(1),
    platform: `${platform()} ${release()}`,
    node: process.version,
    kafka: kafkaVersion(repo),
    ansible: ansibleVersion(repo),
    loadBefore: load(),
  };
}
