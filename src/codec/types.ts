/**
 * TypeScript views of the Avro records in `schemas/` (current versions).
 * Field docs live in the .avsc files; these mirror them one to one.
 */
export type Operation = 'REDEEM' | 'CLOSE' | 'MODIFY' | 'PROBE' | 'POA';
export const OPERATIONS: readonly Operation[] = ['REDEEM', 'CLOSE', 'MODIFY', 'PROBE', 'POA'];

export type Labels = Record<string, string>;

export interface SshKey { key: string; comment: string | null }
export interface Capacities { core: number; ram: number; disk: number }

/** v3: how an L3VPN endpoint reaches the other side (BGP peer or direct gateway). */
export interface Peering {
  asn: number | null;
  ipv4_subnet: string | null;
  ipv6_subnet: string | null;
  /** TCP MD5 key of the BGP session: a secret. */
  bgp_key: string | null;
  gateway: string | null;
}

export interface Interface {
  name: string;
  site: string | null;
  device: string | null;
  port: string | null;
  vlan: number | null;
  bandwidth: number | null;
  mac: string | null;
  ipv4: string | null;
  ipv6: string | null;
  auto_config: boolean;
  labels: Labels;
  /** v3; null for events written with v1/v2. */
  peering: Peering | null;
}

export interface Component {
  name: string;
  type: string;
  model: string | null;
  bdfs: string[];
  macs: string[];
  interfaces: Interface[];
  auto_mount: boolean;
  labels: Labels;
}

export interface NodeSliver {
  name: string;
  site: string | null;
  worker: string | null;
  instance_type: string | null;
  capacities: Capacities | null;
  image: string | null;
  management: { ipv6: boolean; management_ip: string | null; instance_name: string | null };
  components: Component[];
  interfaces: Interface[];
  labels: Labels;
}

export interface NetworkServiceSliver {
  name: string;
  type: string;
  interfaces: Interface[];
  gateway: string | null;
  subnet: string | null;
  ero: string[];
  permitted: string[];
  mirror: { source: string; direction: string } | null;
  labels: Labels;
}

export interface PoaRequest {
  poa_id: string;
  operation: string;
  args: {
    vcpu_cpu_map: { vcpu: number; cpu: number }[];
    node_set: string[];
    keys: SshKey[];
    bdfs: string[];
  };
}

export interface SliverEvent {
  event_id: string;
  operation: Operation;
  sliver_id: string;
  slice_id: string;
  resource_type: string;
  sequence: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  node_sliver: NodeSliver | null;
  network_sliver: NetworkServiceSliver | null;
  previous_node_sliver: NodeSliver | null;
  previous_network_sliver: NetworkServiceSliver | null;
  slice: { user_ssh_keys: SshKey[]; project_id: string | null; slice_name: string | null };
  poa: PoaRequest | null;
  trace_id: string | null;
}

export type Outcome = 'OK' | 'FAILED' | 'TIMED_OUT' | 'CANCELLED' | 'REJECTED' | 'STALE';
export type ObservedState = 'UNKNOWN' | 'EXISTS' | 'MISSING' | 'DEGRADED';

export interface InterfaceState {
  name: string;
  device: string | null;
  port: string | null;
  vlan: number | null;
  mac: string | null;
  ipv4: string | null;
  ipv6: string | null;
  guest_interface: string | null;
  labels: Labels;
}

export interface ComponentState {
  name: string;
  type: string;
  bdfs: string[];
  guest_bdfs: string[];
  interfaces: InterfaceState[];
  labels: Labels;
}

export interface SliverState {
  instance_name: string | null;
  management_ip: string | null;
  worker: string | null;
  observed: ObservedState;
  details: string | null;
  components: ComponentState[];
  interfaces: InterfaceState[];
  labels: Labels;
}

export interface ResultHostStats {
  host: string;
  ok: number;
  changed: number;
  failures: number;
  unreachable: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export interface PoaResult {
  operation: string;
  poa_id: string;
  code: number;
  info_json: string | null;
  message: string;
}

export interface SliverResult {
  event_id: string;
  sliver_id: string;
  slice_id: string;
  resource_type: string;
  operation: Operation;
  outcome: Outcome;
  result_code: number;
  message: string;
  error_code: string | null;
  failed_step: string | null;
  sequence: number;
  sliver: SliverState | null;
  poa: PoaResult | null;
  started_at: number;
  finished_at: number;
  duration_ms: number;
  attempts: number;
  host_stats: ResultHostStats[];
  handler: string;
  trace_id: string | null;
}

export interface AppliedEvent {
  event_id: string;
  sequence: number;
  operation: string;
  outcome: string;
  finished_at: number;
  /** The exact reply value that was published. */
  reply: Buffer;
}

/** An answered event whose full reply is no longer kept (state schema v3). */
export type AnswerDigest = Omit<AppliedEvent, 'reply'>;

export interface InFlight {
  event_id: string;
  sequence: number;
  operation: string;
  owner: string;
  started_at: number;
  /** Lease expiry (ms since epoch); 0 in records written before leases existed. */
  expires_at: number;
}

/** The desired state last applied to a sliver (state schema v4): the last REDEEM or MODIFY answered OK. */
export interface AppliedState {
  event_id: string;
  sequence: number;
  operation: string;
  applied_at: number;
  /** The event as applied (single-object SliverEvent); null when it could not fit `consumer.max_ledger_bytes`. */
  event: Buffer | null;
  /** The reply published for it (single-object SliverResult); null when it could not fit. */
  reply: Buffer | null;
}

/** The per-sliver record on the compacted state topic (schemas/state). */
export interface SliverLedger {
  sliver_id: string;
  version: number;
  /** Fencing epoch: incremented by each claim; records are ordered by (epoch, version). */
  epoch: number;
  /** Instance id of the writer of this record. */
  writer: string;
  applied_sequence: number;
  /** The newest answers with their full replies (`consumer.ledger_replies`), oldest first. */
  entries: AppliedEvent[];
  /** Older answers without their replies, oldest first ([] in records before v3). */
  digests: AnswerDigest[];
  in_flight: InFlight | null;
  updated_at: number;
  /** When a CLOSE was answered OK (cleared by a later successful REDEEM); 0 = open (records before v3). */
  closed_at: number;
  /** The last REDEEM or MODIFY answered OK, cleared by a CLOSE answered OK (null in records before v4). */
  applied: AppliedState | null;
}

export interface SchemaValues {
  event: SliverEvent;
  result: SliverResult;
  state: SliverLedger;
  progress: SliverProgress;
  drift: DriftReport;
}

/** One record of the progress topic (schemas/progress/v1.avsc): a task that started in a running operation. */
export interface SliverProgress {
  event_id: string;
  sliver_id: string;
  slice_id: string;
  resource_type: string;
  operation: Operation;
  step: number;
  playbook: string;
  play: string;
  task: string;
  host: string | null;
  task_index: number;
  task_count: number | null;
  /** ms since the epoch (avsc decodes timestamp-millis as a Date unless told otherwise: see the codec). */
  timestamp: number;
  instance: string;
}

export type DriftKind = 'DRIFT' | 'ORPHAN';
export type RepairAction = 'RECREATE' | 'DELETE';
export type RepairOutcome = Outcome | 'SKIPPED';

/** A repair that ran (or was decided against) for a drift (schemas/drift/v1.avsc DriftRepair). */
export interface DriftRepair {
  action: RepairAction;
  outcome: RepairOutcome;
  /** The repair's event id (its reply carries it); null when nothing ran. */
  event_id: string | null;
  message: string;
}

/** One record of the drift topic (schemas/drift/v1.avsc): a sliver that differs from what was applied, or an orphan. */
export interface DriftReport {
  kind: DriftKind;
  sliver_id: string | null;
  slice_id: string | null;
  resource_type: string;
  handler: string;
  observed: ObservedState;
  /** Human-readable, one difference per item ('component GPU1 gone', 'interface ep-a VLAN 100 -> null'). */
  differences: string[];
  /** JSON summary of what was applied (null for an orphan). */
  expected: string | null;
  /** JSON of what was found (the probe's sliver state, or the orphan's substrate record). */
  found: string | null;
  applied_event_id: string | null;
  applied_sequence: number | null;
  /** ms since the epoch. */
  detected_at: number;
  instance: string;
  repair: DriftRepair | null;
}
