import { expect } from 'vitest';
import { at, describeLifecycle } from '../helpers/net-lifecycle.js';
import { port } from '../helpers/sim-network.js';

type Json = Record<string, unknown>;
const interfaces = (r: Json) => r.interfaces as Json[];

// L2PTP has its own file (net-l2ptp.test.ts) with the failure cases.
describeLifecycle('L2Bridge, L2STS and PortMirror services', [
  {
    type: 'L2Bridge',
    sliver: { interfaces: [at('a', 'SIM3', 'sim-sw-3', 1), at('b', 'SIM3', 'sim-sw-3', 2)] },
    change: { interfaces: [at('a', 'SIM3', 'sim-sw-3', 1), at('b', 'SIM3', 'sim-sw-3', 2), at('c', 'SIM3', 'sim-sw-3', 3)] },
    modified: (r) => expect(interfaces(r).map((i) => i.port)).toEqual([port(1), port(2), port(3)]),
  },
  {
    type: 'L2STS',
    sliver: { interfaces: [at('a', 'SIM1', 'sim-sw-1', 30, { bandwidth: 10 }), at('b', 'SIM2', 'sim-sw-2', 30, { bandwidth: 10 })] },
    change: { interfaces: [at('a', 'SIM1', 'sim-sw-1', 30, { bandwidth: 40 }), at('b', 'SIM2', 'sim-sw-2', 30, { bandwidth: 40 })] },
    modified: (r) => expect(interfaces(r).map((i) => i.bandwidth)).toEqual([40, 40]),
  },
  {
    type: 'PortMirror',
    sliver: { mirror: { source: port(11), direction: '' }, interfaces: [at('dest', 'SIM3', 'sim-sw-3', 10)] },
    created: (r) => expect(r.mirror).toEqual({ source: port(11), direction: 'both' }), // the reference's default
    change: { mirror: { source: port(11), direction: 'rx' } },
    modified: (r) => expect(r.mirror).toEqual({ source: port(11), direction: 'rx' }),
  },
]);
