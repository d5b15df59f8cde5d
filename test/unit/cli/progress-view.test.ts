import { describe, expect, it } from 'vitest';
import { describeProgress, liveLine, progressBar, progressLine, resultLine } from '../../../src/cli/progress-view.js';
import type { SliverProgress, SliverResult } from '../../../src/codec/types.js';

const p: SliverProgress = {
  event_id: 'e1', sliver_id: 's1', slice_id: 'sl', resource_type: 'VM', operation: 'REDEEM', step: 2, playbook: 'vm_pci.yml',
  play: 'vm_pci', task: 'attach', host: 'localhost', task_index: 3, task_count: 4, timestamp: 0, instance: 'i',
};

describe('tail --follow lines', () => {
  it('a bar shows the tasks before the running one as done', () => {
    expect(progressBar(1, 4, 8)).toBe('[--------]');
    expect(progressBar(3, 4, 8)).toBe('[####----]');
    expect(progressBar(5, 4, 8)).toBe('[########]');
    expect(progressBar(2, null, 5)).toBe('[->---]');
  });

  it('plain and live lines say step, playbook, task n of m and host', () => {
    expect(describeProgress(p)).toBe('step 2 vm_pci.yml task 3/4 attach on localhost');
    expect(progressLine({ ...p, host: null, task_count: null })).toBe('progress s1 REDEEM VM step 2 vm_pci.yml task 3/? attach');
    expect(liveLine({ progress: p, since: 0 }, 65_000, 200)).toBe('s1 REDEEM [##########----------] step 2 vm_pci.yml task 3/4 attach on localhost (1m05s)');
    expect(liveLine({ progress: p, since: 0 }, 1000, 20)).toHaveLength(20);
  });

  it('a result line', () => {
    const r = { sliver_id: 's1', operation: 'REDEEM', resource_type: 'VM', outcome: 'OK', duration_ms: 2500, message: 'done' } as SliverResult;
    expect(resultLine(r)).toBe('result s1 REDEEM VM OK in 3s: done');
  });
});
