import type { AvroCodec } from '../codec/codec.js';
import type { SliverResult } from '../codec/types.js';

const FIELD_LIMIT = 1024;

function cut(text: string, limit = FIELD_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… [cut: ${text.length - limit} more characters]`;
}

/**
 * The encoded reply for `result`, cut down to at most `maxBytes` when it is
 * larger (an event's own field echoed back, a huge handler message): long
 * strings are cut, per-host stats and details dropped, and the message says
 * so. A reply is never lost for being too large.
 */
export function encodeFitted(codec: AvroCodec, result: SliverResult, maxBytes: number): { value: Buffer; result: SliverResult } {
  const value = codec.encode('result', result);
  if (value.length <= maxBytes) return { value, result };
  const note = ` [reply cut down from ${value.length} bytes to fit ${maxBytes} bytes (consumer.max_reply_bytes)]`;
  const slim: SliverResult = {
    ...result,
    event_id: cut(result.event_id, 256),
    sliver_id: cut(result.sliver_id, 256),
    slice_id: cut(result.slice_id, 256),
    resource_type: cut(result.resource_type, 256),
    handler: cut(result.handler, 256),
    failed_step: result.failed_step === null ? null : cut(result.failed_step),
    error_code: result.error_code === null ? null : cut(result.error_code, 256),
    trace_id: result.trace_id === null ? null : cut(result.trace_id, 256),
    message: cut(result.message) + note,
    host_stats: [],
    sliver: result.sliver ? { ...result.sliver, details: null, labels: {}, components: [], interfaces: [] } : null,
    poa: result.poa ? { ...result.poa, info_json: null, message: cut(result.poa.message) } : null,
  };
  const slimValue = codec.encode('result', slim);
  if (slimValue.length <= maxBytes) return { value: slimValue, result: slim };
  // Nothing left to cut but the identifiers themselves.
  const bare: SliverResult = { ...slim, sliver: null, poa: null, message: cut(slim.message, 200), event_id: cut(slim.event_id, 64), sliver_id: cut(slim.sliver_id, 64) };
  return { value: codec.encode('result', bare), result: bare };
}
