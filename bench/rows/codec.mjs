// Row `codec`: encode + decode round trips of a realistic VM event (a create
// with GPU, SmartNIC, NVME and Storage components), three ways:
//   amh   AvroCodec as the service uses it: encode() (single-object framing)
//         and `await decode()` (framing parsed, writer looked up by fingerprint)
//   avsc  plain type.toBuffer / type.fromBuffer of the same schema, no framing
//   json  JSON.stringify / JSON.parse
// Metric: microseconds per round trip (lower is better), so amh/avsc <= 1.10
// means the framing costs at most 10 % over plain avsc.

import { loadDist } from '../lib/dist.mjs';
import { median } from '../stats.mjs';

/** A VM create as the AM sends it, with four components and two SSH keys. */
export function realisticVmEvent(n = 0) {
  return {
    event_id: `7f9c2a10-5b3e-4c1d-9a8e-${String(n).padStart(12, '0')}`,
    operation: 'REDEEM',
    sliver_id: `sliver-bench-${n}`,
    slice_id: '0f2a9c4e-bench-slice',
    resource_type: 'VM',
    sequence: 1,
    timestamp: 1_764_720_000_000 + n,
    node_sliver: {
      name: 'node1',
      site: 'SIM1',
      worker: 'sim-worker-1',
      instance_type: 'fabric.c8.m32.d100',
      capacities: { core: 8, ram: 32, disk: 100 },
      image: 'default_rocky_9',
      components: [
        { name: 'GPU1', type: 'GPU', model: 'Tesla T4', bdfs: ['0000:25:00.0'] },
        {
          name: 'NIC1', type: 'SmartNIC', model: 'ConnectX-6', bdfs: ['0000:41:00.0', '0000:41:00.1'],
          interfaces: [{ name: 'NIC1-p1', vlan: 1001, mac: '0c:42:a1:00:00:01' }, { name: 'NIC1-p2' }],
        },
        { name: 'NVME1', type: 'NVME', model: 'P4510', bdfs: ['0000:21:00.0'] },
        { name: 'data1', type: 'Storage', auto_mount: true, labels: { local_name: 'data1' } },
      ],
      labels: { project: 'bench' },
    },
    slice: {
      project_id: 'bench-project',
      slice_name: 'bench',
      user_ssh_keys: [
        { key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKeyOnlyForTheSimSubstrate0001 alice@example', comment: 'alice' },
        { key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKeyOnlyForTheSimSubstrate0002 bob@example', comment: 'bob' },
      ],
    },
  };
}

const BATCHES = 10;

/**
 * Time `count` round trips of `roundTrip(value)` (awaited when it returns a
 * promise) in 10 batches. The time per round trip is the median batch's, so a
 * burst of other work on a shared machine moves one batch, not the result.
 */
async function time(count, values, roundTrip, pick = (v) => v) {
  const perBatch = Math.ceil(count / BATCHES);
  const batchUs = [];
  const cpu0 = process.cpuUsage();
  let sink = 0;
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) {
      const back = roundTrip(values[i % values.length]);
      sink += pick(back instanceof Promise ? await back : back).sequence;
    }
    batchUs.push(Number(process.hrtime.bigint() - t0) / 1000 / perBatch);
  }
  const cpu = process.cpuUsage(cpu0);
  if (sink !== perBatch * BATCHES) throw new Error(`round trips lost data: sequence sum ${sink}, expected ${perBatch * BATCHES}`);
  const us = median(batchUs);
  return { round_trip_us: us, round_trips_per_s: Math.round(1e6 / us), cpu_round_trip_us: (cpu.user + cpu.system) / (perBatch * BATCHES) };
}

/** @type {import('../lib/row.js').Row[]} */
export const rows = [
  {
    id: 'codec',
    title: 'codec round trip (encode + decode) of a VM create with 4 components: AvroCodec vs plain avsc vs JSON',
    variants: ['amh', 'avsc', 'json'],
    async setup(ctx) {
      const { AvroCodec, SchemaCatalog } = await loadDist(ctx.repo);
      const catalog = SchemaCatalog.load();
      const codec = new AvroCodec(catalog);
      const type = catalog.current('event').type;
      // Values as the service holds them: decoded once (defaults filled, the schema's own shape).
      const values = [];
      for (let i = 0; i < 64; i++) values.push((await codec.decode('event', codec.encode('event', realisticVmEvent(i)))).value);
      const trips = {
        // As the pipeline decodes: `(await codec.decode(...)).value`.
        amh: (v) => codec.decode('event', codec.encode('event', v)),
        avsc: (v) => type.fromBuffer(type.toBuffer(v)),
        json: (v) => JSON.parse(JSON.stringify(v)),
      };
      const picks = { amh: (d) => d.value, avsc: (v) => v, json: (v) => v };
      ctx.state = Object.assign(ctx.state, { values, trips, picks, count: ctx.quick ? 30_000 : 200_000 });
      ctx.log(`${values.length} distinct events of ${codec.encode('event', values[0]).length} bytes (avro), ${JSON.stringify(values[0]).length} bytes (json); ${ctx.state.count} round trips per measurement`);
      for (const name of Object.keys(trips)) await time(5_000, values, trips[name], picks[name]); // warm the JIT
    },
    async measure(variant, ctx) {
      const { values, trips, picks, count } = ctx.state;
      return time(count, values, trips[variant], picks[variant]);
    },
    compare: [
      { metric: 'round_trip_us', subject: 'amh', baseline: 'avsc', target: { max: 1.1 } },
      { metric: 'round_trip_us', subject: 'json', baseline: 'avsc' },
    ],
  },
];
