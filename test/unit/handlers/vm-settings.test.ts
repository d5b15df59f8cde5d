import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type SliverEvent } from '../../../src/codec/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { ValidationError } from '../../../src/errors/index.js';
import { BUILTIN_PLUGINS, HandlerRegistry } from '../../../src/handlers/index.js';
import { allPlaybooks, type VmSettings } from '../../../src/handlers/vm/settings.js';
import { validateVmEvent } from '../../../src/handlers/vm/validate.js';
import { testConfig } from '../../helpers/config.js';
import { gpu, poaEvent, smartNic, vmWith } from '../../helpers/sim.js';

function vmSettings(extra: Record<string, unknown> = {}): VmSettings {
  const registry = HandlerRegistry.fromConfig(testConfig({ handlers: { vm: { plugin: 'vm', ...extra } } }), BUILTIN_PLUGINS);
  return registry.resolve('VM').settings as VmSettings;
}

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const event = (e: Record<string, unknown>): SliverEvent => codec.complete<'event'>(catalog.current('event'), e);

describe('VM settings', () => {
  it('has a playbook for every reference key, relative to playbooks.location', () => {
    const s = vmSettings({ playbooks: { location: '/pb', GPU: 'gpu.yml', operation: { cpupin: 'pin.yml' }, cleanup: { NVME: 'wipe.yml' } } });
    const books = allPlaybooks(s);
    expect(books).toMatchObject({
      VM: '/pb/vm_create.yml',
      GPU: '/pb/gpu.yml',
      SmartNIC: '/pb/vm_pci.yml',
      Storage: '/pb/vm_volume.yml',
      'operation.delete': '/pb/vm_delete.yml',
      'operation.cpupin': '/pb/pin.yml',
      'config.post_boot': '/pb/vm_post_boot.yml',
      'config.ssh_keys': '/pb/vm_ssh_keys.yml',
      'cleanup.NVME': '/pb/wipe.yml',
      'cleanup.ALL': '/pb/vm_delete.yml',
      'cleanup.mark_failed': '/pb/vm_mark_failed.yml',
      'operation.list': '/pb/vm_list.yml',
    });
    expect(Object.keys(books)).toHaveLength(24);
    expect(s.runtime).toMatchObject({ ssh_retries: 10, delete_retries: 3, retry_delay: 5000, disable_fip: false, max_flavor: null });
  });

  it('names the path of every mistake, unknown keys included', () => {
    const attempt = () =>
      vmSettings({
        playbooks: { operation: { destroy: 'x.yml' }, config: { SmartNIC: '' } },
        runtime: { retry_delay: 'soon', delete_retries: 0 },
      });
    expect(attempt).toThrow(/`handlers\.vm\.playbooks\.operation`: unknown key\(s\) `destroy`/);
    expect(attempt).toThrow(/`handlers\.vm\.playbooks\.config\.SmartNIC`/);
    expect(attempt).toThrow(/`handlers\.vm\.runtime\.retry_delay`: expected a duration like `15m`, `30s` or `500ms`, got `soon`/);
    expect(attempt).toThrow(/`handlers\.vm\.runtime\.delete_retries`/);
  });

  it('accepts the shipped config/amh.yaml', () => {
    const registry = HandlerRegistry.fromConfig(loadConfig({ env: {} }), BUILTIN_PLUGINS);
    const s = registry.resolve('VM').settings as VmSettings;
    expect(s.playbooks.location).toMatch(/playbooks\/sim$/);
    expect(s.playbooks.cleanup.NVME).toBe('vm_nvme_cleanup.yml');
  });
});

describe('VM event validation (REJECTED before any playbook)', () => {
  const s = vmSettings();
  const reject = (e: Record<string, unknown>) => () => validateVmEvent(event(e), s);

  it('rejects an unknown POA operation instead of running anything (the reference ran a delete)', () => {
    expect(reject(poaEvent('s1', 'format_disk'))).toThrow(ValidationError);
    expect(reject(poaEvent('s1', 'format_disk'))).toThrow(/unknown POA operation 'format_disk'; known operations: cpuinfo, numainfo/);
    expect(reject(poaEvent('s1', 'cpupin'))).toThrow(/POA cpupin needs poa.args.vcpu_cpu_map/);
    expect(reject(poaEvent('s1', 'cpuinfo'))).not.toThrow();
  });

  it('rejects unknown component types, passthrough without BDFs, a BDF asked twice', () => {
    expect(reject(vmWith('s1', [{ name: 'Q', type: 'QPU', bdfs: ['0000:01:00.0'] }]))).toThrow(/unknown type 'QPU'; known types: GPU, SmartNIC/);
    expect(reject(vmWith('s1', [{ name: 'G', type: 'GPU' }]))).toThrow(/component 'G' \(GPU\) has no bdfs/);
    expect(reject(vmWith('s1', [gpu('A'), gpu('B')]))).toThrow(/BDF 0000:25:00.0 is also requested by component 'A'/);
    expect(reject(vmWith('s1', [gpu('A'), smartNic('A')]))).toThrow(/appears twice/);
  });

  it('rejects a mistyped sim label, so a test cannot silently inject nothing', () => {
    expect(reject(vmWith('s1', [], { labels: { 'sim.delay_seconds': 'slow' } }))).toThrow(/'sim.delay_seconds' must be a non-negative number/);
  });

  it('needs node_sliver on every VM operation: its name identifies the VM', () => {
    expect(reject({ ...vmWith('s1', []), operation: 'CLOSE', node_sliver: null })).toThrow(/needs node_sliver/);
  });
});
