// The zygote parses Ansible's own module_utils once (scripts/ansible/zygote_deps.py) for every run's module
// payloads. These tests hold it to Ansible's own answers, file by file, and to the payload a bare run builds.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WarmPool } from '../../src/ansible/index.js';
import { ansiblePython } from '../../src/ansible/interpreter.js';
import type { PlaybookRunner } from '../../src/ansible/types.js';
import type { DepsMemo } from '../../src/ansible/warm/zygote.js';
import { playbooksDir, repoRoot } from '../../src/paths.js';
import { ansiblePlaybook, warmAndBare } from '../helpers/ansible.js';

const SCRIPTS = join(repoRoot(), 'scripts', 'ansible');
const FIXTURES = resolve(import.meta.dirname, '../fixtures');

let python: string;
let scratch: string;
let memo: DepsMemo | undefined;
let warm: PlaybookRunner;
let bare: PlaybookRunner;
let close: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  python = (await ansiblePython(ansiblePlaybook())) as string;
  ({ warm, bare, scratch, close } = await warmAndBare('amh-warm-deps-', {}, (pool) => {
    pool.once('zygoteReady', (ready) => {
      memo = ready.depsMemo;
    });
  }));
}, 180_000);

afterAll(() => close());

interface Report {
  files: number;
  other_refused: string | null;
  other_untouched: boolean;
  learnt: number;
  installed: string | null;
  served: number;
  differ: string[];
  changed_parsed: boolean;
  changed_found: boolean;
  renamed: string[];
  renamed_expected: string[];
  as_package: string[];
  as_package_expected: string[];
  no_leak: boolean;
  code_compiles: string;
  payload_members: number;
  payload_same: boolean;
}

describe('warm runner: Ansible\'s module_utils parsed once in the zygote', () => {
  it('answers as Ansible\'s own finder does for every file it ships, and parses any file that differs', () => {
    const run = spawnSync(python, [join(FIXTURES, 'warm', 'deps_memo_check.py'), SCRIPTS], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.installed).toBeNull();
    expect(report.files).toBeGreaterThan(100);
    expect(report.learnt).toBe(report.files);
    // Every file served without a parse, each with the imports Ansible's finder finds in it.
    expect(report.served).toBe(report.files);
    expect(report.differ).toEqual([]);
    // One byte more and it is parsed: the import it adds is found.
    expect(report.changed_parsed).toBe(true);
    expect(report.changed_found).toBe(true);
    // Relative imports depend on the name and package flag: other ones are parsed there.
    expect(report.renamed).toEqual(report.renamed_expected);
    expect(report.renamed).toContain('ansible.module_utils.other._text.to_bytes');
    expect(report.as_package).toEqual(report.as_package_expected);
    expect(report.as_package).toContain('ansible.module_utils.basic._text.to_bytes');
    expect(report.no_leak).toBe(true);
    expect(report.code_compiles).toBe('code');
    // The payload recursive_finder builds is the same, member for member.
    expect(report.payload_members).toBeGreaterThan(10);
    expect(report.payload_same).toBe(true);
    // A module_common that parses some other way is left as it is.
    expect(report.other_refused).toMatch(/recursive_finder does not read/);
    expect(report.other_untouched).toBe(true);
  }, 60_000);

  it('the zygote says how many files it parsed; a warm run sends the same module payload as a bare one', async () => {
    expect(memo).toEqual({ files: expect.any(Number), off: null });
    expect(memo?.files).toBeGreaterThan(100);
    // The module reports the zip it runs from (ANSIBLE_KEEP_REMOTE_FILES would not do: it is read at import, so
    // a warm run with it set becomes a bare one).
    const members = async (runner: PlaybookRunner): Promise<Record<string, string>> => {
      const result = await runner({ playbook: join(FIXTURES, 'warm', 'payload.yml'), extraVars: {}, env: { ANSIBLE_LIBRARY: join(FIXTURES, 'warm', 'library-payload') } });
      expect(result.outcome, result.stderrTail).toBe('ok');
      expect(result.via).toBe(runner === warm ? 'warm' : 'spawn');
      return (result.data as { members: Record<string, string> }).members;
    };
    const fromWarm = await members(warm);
    const fromBare = await members(bare);
    expect(Object.keys(fromWarm)).toContain('ansible/module_utils/urls.py');
    expect(Object.keys(fromWarm)).toContain('ansible/module_utils/common/text/converters.py');
    expect(fromWarm).toEqual(fromBare);
  }, 60_000);

  it('AMH_ZYGOTE_DEPS_MEMO=0 turns it off, and the zygote says so', async () => {
    process.env.AMH_ZYGOTE_DEPS_MEMO = '0';
    const off = new WarmPool({ ansiblePlaybook: ansiblePlaybook(), workDir: join(scratch, 'pool-off'), playbooksDir: playbooksDir() });
    try {
      const ready = new Promise<DepsMemo>((done) => off.once('zygoteReady', (r) => done(r.depsMemo)));
      await off.whenReady(120_000);
      expect(await ready).toEqual({ files: 0, off: 'AMH_ZYGOTE_DEPS_MEMO=0' });
    } finally {
      delete process.env.AMH_ZYGOTE_DEPS_MEMO;
      await off.stop();
    }
  }, 120_000);
});
