import { AmhError, TransientError } from '../errors/index.js';

// Provisional classifier; replaced by the full one (kafkajs error taxonomy).
export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  if (err instanceof AmhError) return err.retriable;
  if (isMessageTooLarge(err)) return false;
  const e = err as { retriable?: unknown; name?: unknown } | null;
  if (e && typeof e === 'object' && e.retriable === true) return true;
  return typeof e?.name === 'string' && /KafkaJS(Connection|RequestTimeout|NumberOfRetriesExceeded|BrokerNotFound|LockTimeout)Error/.test(e.name);
}

export function isMessageTooLarge(err: unknown): boolean {
  const e = err as { type?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  return e.cause !== undefined && e.cause !== err && isMessageTooLarge(e.cause);
}
