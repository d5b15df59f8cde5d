import type { PoaRequest, SliverEvent } from '../../codec/types.js';
import { ValidationError } from '../../errors/index.js';
import type { HandlerOutcome } from '../types.js';
import { poaReport, vmReport } from './report.js';
import type { PlaybookKey } from './settings.js';
import { STEP, VmSteps, type VmContext } from './steps.js';
import { isPoaOperation, requireNode, type PoaOperation } from './validate.js';
import { targetOf, type Vars } from './vars.js';

/** Which playbook serves a POA operation, and with which vars. */
function plan(request: PoaRequest, op: PoaOperation): { key: PlaybookKey; vars: Vars } {
  switch (op) {
    case 'reboot':
      return { key: 'operation.reboot', vars: {} };
    case 'addkey':
    case 'removekey':
      return {
        key: 'config.ssh_keys',
        vars: { keys: request.args.keys, key_state: op === 'addkey' ? 'present' : 'absent' },
      };
    default:
      return {
        key: `operation.${op}`,
        vars: { poa_operation: op, poa_id: request.poa_id, poa_args: request.args },
      };
  }
}

/**
 * POA (operations on an active VM): cpuinfo, numainfo, cpupin, numatune,
 * reboot, addkey, removekey, rescan. The reply's `poa` has the reference's
 * shape {operation, poa_id, code, info, message}, info as JSON text. An
 * unknown operation is REJECTED by validate() before this runs.
 */
export async function poa(event: SliverEvent, ctx: VmContext): Promise<HandlerOutcome> {
  const sliver = requireNode(event);
  const request = event.poa;
  if (!request || !isPoaOperation(request.operation)) {
    throw new ValidationError(`unknown POA operation '${request?.operation ?? ''}'`);
  }
  const op = request.operation;
  const steps = new VmSteps(ctx, event, sliver, targetOf(event, sliver));
  const { key, vars } = plan(request, op);
  const run = await steps.run(STEP.poa(op), key, vars);
  const report = op === 'reboot' ? rebootInfo(run.data.vm) : poaReport(run.data.poa);
  const message = report.message ?? `${op} done`;
  return {
    message: `POA ${op} on ${steps.target.instanceName}: ${message}`,
    poa: { operation: op, poa_id: request.poa_id, code: 0, info_json: JSON.stringify(report.info ?? {}), message },
  };
}

function rebootInfo(data: unknown): { info: unknown; message: string } {
  const vm = vmReport(data);
  const reboots = (data as { reboots?: unknown } | undefined)?.reboots;
  return {
    info: { state: vm.state, management_ip: vm.managementIp, reboots: typeof reboots === 'number' ? reboots : null },
    message: `rebooted; ${vm.state ?? 'state unknown'}`,
  };
}
