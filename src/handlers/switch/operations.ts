import { basename, join } from 'node:path';
import type { SliverEvent } from '../../codec/types.js';
import { playbookData } from '../network/result.js';
import { rollback } from '../network/rollback.js';
import type { HandlerContext, HandlerOutcome } from '../types.js';
import { createdSwitch, deletedSwitch, probedSwitch, switchState } from './result.js';
import type { SwitchSettings } from './settings.js';
import { requireSwitch, switchInstanceName } from './validate.js';
import { switchVars } from './vars.js';

type Ctx = HandlerContext<SwitchSettings>;

const at = (settings: SwitchSettings, file: string): string => join(settings.playbooks.location, file);

/** Claims and configures the switch; a failure part-way is cleaned up before it is reported. */
export async function create(event: SliverEvent, ctx: Ctx): Promise<HandlerOutcome> {
  const sliver = requireSwitch(event);
  const vars = switchVars(event, sliver, ctx.config);
  const playbook = at(ctx.config, ctx.config.playbooks.Switch);
  let sw;
  try {
    const result = await ctx.runPlaybook(playbook, vars);
    sw = playbookData(createdSwitch, result.data, 'switch', basename(playbook));
  } catch (err) {
    return rollback(err, ctx.logger, () => ctx.runCleanup(at(ctx.config, ctx.config.cleanup.ALL), vars));
  }
  return {
    message: `P4 switch ${sw.device} is ${sw.state} as ${sw.instance_name} at ${sw.management_ip ?? '?'} with ${sw.ports.length} port(s)`,
    sliver: switchState(sw, 'EXISTS'),
  };
}

/** Releases the switch; the playbook tries `runtime.delete_retries` times and fails if none worked. */
export async function remove(event: SliverEvent, ctx: Ctx): Promise<HandlerOutcome> {
  const sliver = requireSwitch(event);
  const playbook = at(ctx.config, ctx.config.playbooks.operation.delete);
  const result = await ctx.runPlaybook(playbook, switchVars(event, sliver, ctx.config));
  const gone = playbookData(deletedSwitch, result.data, 'switch', basename(playbook));
  const note = gone.note ? ` (${gone.note})` : '';
  return {
    message: gone.existed ? `P4 switch ${gone.instance_name} deleted` : `P4 switch ${gone.instance_name} was already gone${note}`,
    sliver: { instance_name: gone.instance_name, worker: sliver.worker, observed: 'MISSING' },
  };
}

export async function probe(event: SliverEvent, ctx: Ctx): Promise<HandlerOutcome> {
  const sliver = requireSwitch(event);
  const playbook = at(ctx.config, ctx.config.playbooks.operation.probe);
  const result = await ctx.runPlaybook(playbook, switchVars(event, sliver, ctx.config));
  const { observed, details, record } = playbookData(probedSwitch, result.data, 'switch', basename(playbook));
  const name = switchInstanceName(event, sliver);
  return {
    message: `P4 switch ${name}: ${observed}: ${details}`,
    sliver: record ? switchState(record, observed, details) : { instance_name: name, worker: sliver.worker, observed, details },
  };
}
