import { describe, expect, it } from 'vitest';
import { assess } from '../../../src/handlers/vm/probe.js';
import { probeReport } from '../../../src/handlers/vm/report.js';

const base = { exists: true, instance_name: 's1-node1', worker: 'w1', management_ip: '10.20.0.2', state: 'ACTIVE' };
const gpu = { name: 'GPU1', type: 'GPU', bdfs: ['0000:25:00.0'], guest_bdfs: ['0000:07:00.0'], attached_bdfs: ['0000:25:00.0'] };
const vol = { name: 'data1', type: 'Storage', volume: 'data1', mount_point: '/data1', volume_attached: true };
const comp = (name: string, type: string) => ({ name, type, model: null, bdfs: [], macs: [], interfaces: [], auto_mount: false, labels: {} });

describe('probe verdict', () => {
  it('EXISTS when the VM is ACTIVE and every device is attached', () => {
    const v = assess(probeReport({ ...base, components: [gpu, vol] }), [comp('GPU1', 'GPU')]);
    expect(v).toEqual({ observed: 'EXISTS', details: 'ACTIVE on w1 at 10.20.0.2 with GPU1, data1' });
  });

  it('MISSING when there is no VM', () => {
    expect(assess(probeReport({ exists: false, instance_name: 's1-node1' }), []).observed).toBe('MISSING');
  });

  it('DEGRADED with every reason: state, a lost device, a detached volume, a missing component, stray devices', () => {
    const seen = probeReport({
      ...base,
      state: 'SHUTOFF',
      components: [{ ...gpu, attached_bdfs: [] }, { ...vol, volume_attached: false }],
      stray_bdfs: ['0000:81:00.0'],
    });
    const v = assess(seen, [comp('GPU1', 'GPU'), comp('NIC1', 'SmartNIC')]);
    expect(v.observed).toBe('DEGRADED');
    expect(v.details).toBe(
      'VM state is SHUTOFF, not ACTIVE; GPU1: 0000:25:00.0 not attached; data1: volume data1 not attached; NIC1 (SmartNIC) is missing; devices held by no component: 0000:81:00.0',
    );
  });

  it('reads a report defensively: missing fields are empty, not errors', () => {
    const r = probeReport({ exists: true, components: [{ name: 'X' }, 7] });
    expect(r.components.map((c) => c.state.name)).toEqual(['X', '']);
    expect(r.strayBdfs).toEqual([]);
  });
});
