import { describe, expect, it } from 'vitest';
import { CancelledError, OperationTimeoutError, PlaybookError, SubstrateError, ValidationError } from '../../../src/errors/index.js';
import { STEP, asStepError, relabel, stepName, withNote } from '../../../src/handlers/vm/steps.js';

describe('step names', () => {
  it('name the component or phase, then the playbook and task', () => {
    expect(STEP.attach({ name: 'GPU1' })).toBe('attach_component GPU1');
    expect(STEP.wipe({ name: 'NVME1' })).toBe('wipe_nvme NVME1');
    expect(STEP.poa('cpupin')).toBe('poa cpupin');
    expect(stepName('attach_component GPU1', 'vm_pci.yml: attach_pci')).toBe('attach_component GPU1 (vm_pci.yml: attach_pci)');
    expect(stepName('boot_vm', undefined)).toBe('boot_vm');
  });
});

describe('relabel', () => {
  it('keeps the error class and the retriable flag, and names the step', () => {
    const inner = new PlaybookError('vm_pci.yml: attach_pci failed on localhost: busy', 'vm_pci.yml: attach_pci', { retriable: true });
    const err = relabel(inner, 'attach_component GPU1');
    expect(err).toBeInstanceOf(PlaybookError);
    expect(err.retriable).toBe(true);
    expect((err as PlaybookError).step).toBe('attach_component GPU1 (vm_pci.yml: attach_pci)');
    expect(err.message).toBe('attach_component GPU1 failed: vm_pci.yml: attach_pci failed on localhost: busy');
    expect(err.cause).toBe(inner);
  });

  it('keeps timeouts, cancellations and substrate refusals what they are', () => {
    expect(relabel(new OperationTimeoutError('timed out', 'x'), 'boot_vm')).toBeInstanceOf(OperationTimeoutError);
    expect(relabel(new CancelledError('cancelled', 'x'), 'boot_vm')).toBeInstanceOf(CancelledError);
    expect(relabel(new SubstrateError('in use', 'x'), 'boot_vm')).toBeInstanceOf(SubstrateError);
  });

  it('leaves other errors of ours alone and wraps foreign ones', () => {
    const invalid = new ValidationError('bad');
    expect(relabel(invalid, 'boot_vm')).toBe(invalid);
    const wrapped = relabel(new Error('spawn ENOENT'), 'boot_vm');
    expect(wrapped).toBeInstanceOf(PlaybookError);
    expect((wrapped as PlaybookError).step).toBe('boot_vm');
    expect(asStepError(invalid, 'x')).toBe(invalid);
  });

  it('withNote appends to the message and keeps step, class and flag', () => {
    const err = withNote(new OperationTimeoutError('timed out', 'boot_vm', { retriable: false }), 'rolled back: deleted VM');
    expect(err).toBeInstanceOf(OperationTimeoutError);
    expect(err.message).toBe('timed out; rolled back: deleted VM');
    expect((err as PlaybookError).step).toBe('boot_vm');
  });
});
