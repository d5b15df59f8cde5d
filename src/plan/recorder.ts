import { basename } from 'node:path';
import type { PlaybookRunResult } from '../ansible/types.js';
import type { Operation } from '../codec/types.js';
import type { RegisteredHandler } from '../handlers/registry.js';
import type { RunPlaybook } from '../handlers/types.js';
import type { Scrubber } from '../observability/redact.js';
import type { Claim, PlanStep, PlannedCall } from './types.js';

/**
 * The planning runner: stands in for ansible-playbook behind a handler's
 * `runPlaybook` and `runCleanup`. Each call is recorded as a step (vars
 * redacted) and answered by the plugin's `plan.answer` with what the
 * playbook would most likely report; nothing is run.
 */
export class PlanRecorder {
  readonly steps: PlanStep[] = [];
  readonly claims: Claim[] = [];
  private readonly assumed = new Set<string>();
  private readonly keysByPath = new Map<string, string[]>();

  constructor(
    private readonly handler: RegisteredHandler,
    private readonly operation: Operation,
    resourceType: string,
    private readonly scrubber: Scrubber,
  ) {
    // A playbook keyed by another resource type of the handler (L2Bridge, seen from an L2PTP) is not this event's.
    const others = new Set(handler.resourceTypes.filter((t) => t !== resourceType));
    for (const [key, path] of Object.entries(handler.plugin.playbooks(handler.settings) as Record<string, string>)) {
      if (others.has(key)) continue;
      this.keysByPath.set(path, [...(this.keysByPath.get(path) ?? []), key]);
    }
  }

  get assumptions(): string[] {
    return [...this.assumed];
  }

  runner(cleanup: boolean): RunPlaybook {
    return async (playbook, vars) => {
      const call: PlannedCall = { playbook, keys: this.keysByPath.get(playbook) ?? [], vars, cleanup, operation: this.operation };
      const support = this.handler.plugin.plan;
      const answer = support
        ? support.answer(call, this.handler.settings)
        : { data: {}, assumption: `plugin ${this.handler.plugin.name} describes no playbook results: later steps see none` };
      if (answer.assumption) this.assumed.add(answer.assumption);
      this.claims.push(...(answer.claims ?? []));
      this.steps.push({
        n: this.steps.length + 1,
        label: answer.label ?? basename(playbook),
        playbook: basename(playbook),
        path: playbook,
        keys: [...call.keys],
        cleanup,
        vars: this.scrubber.value(vars) as Record<string, unknown>,
        assumption: answer.assumption ?? null,
      });
      const result: PlaybookRunResult = {
        playbook,
        outcome: 'ok',
        exitCode: 0,
        tasks: [],
        stats: [],
        data: answer.data,
        durationMs: 0,
        stderrTail: '',
      };
      return result;
    };
  }
}
