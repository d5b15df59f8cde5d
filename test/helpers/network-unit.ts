// Unit-test helpers for the network and switch plugins: complete events
// (schema defaults filled in, as the codec would decode them), resolved
// settings, and a handler context whose playbook runs are scripted fakes.
import type { PlaybookRunResult } from '../../src/ansible/types.js';
import { AvroCodec, SchemaCatalog, type SliverEvent } from '../../src/codec/index.js';
import type { HandlerContext, HandlerPlugin, RunPlaybook } from '../../src/handlers/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { netEvent, switchEvent } from './sim-network.js';

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);

type Json = Record<string, unknown>;

/** A network event as the service would hand it to the plugin. */
export function networkEvent(type: string, sliver: Json, overrides: Json = {}): SliverEvent {
  return codec.complete<'event'>(catalog.current('event'), netEvent(type, sliver, overrides));
}

/** A Switch event as the service would hand it to the plugin. */
export function p4Event(node: Json = {}, overrides: Json = {}): SliverEvent {
  return codec.complete<'event'>(catalog.current('event'), switchEvent(node, overrides));
}

/** The plugin's settings from a raw `handlers.<entry>` mapping (paths resolved against /etc/amh). */
export function settingsOf<S>(plugin: HandlerPlugin<S>, raw: Json = {}): S {
  return plugin.settingsSchema((p) => (p.startsWith('/') ? p : `/etc/amh/${p}`)).parse(raw);
}

/** One recorded playbook run: which playbook, with which vars, and whether it was a cleanup run. */
export interface RecordedRun {
  playbook: string;
  vars: Json;
  cleanup: boolean;
}

type Script = (run: RecordedRun) => Partial<PlaybookRunResult> | Error;

/**
 * A HandlerContext whose runPlaybook/runCleanup record each call and answer
 * from `script`: a partial result (data, ...) for success, an Error to throw.
 */
export function fakeContext<S>(config: S, script: Script = () => ({}), signal: AbortSignal = new AbortController().signal) {
  const runs: RecordedRun[] = [];
  const runner =
    (cleanup: boolean): RunPlaybook =>
    async (playbook, vars) => {
      const run = { playbook: playbook.split('/').pop() ?? playbook, vars, cleanup };
      runs.push(run);
      const answer = script(run);
      if (answer instanceof Error) throw answer;
      return { playbook, outcome: 'ok', exitCode: 0, tasks: [], stats: [], data: {}, durationMs: 1, stderrTail: '', ...answer };
    };
  const ctx: HandlerContext<S> = { signal, logger: silentLogger(), config, runPlaybook: runner(false), runCleanup: runner(true) };
  return { ctx, runs };
}
