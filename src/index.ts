/** Public surface of am-handlers. */
export { Service, type ServiceDeps, type ServiceState } from './service.js';
export { loadConfig, type ResolvedConfig, type LoadOptions } from './config/index.js';
export { applyHeapPolicy, type HeapPolicy } from './lib/heap-policy.js';
export {
  AvroCodec,
  SchemaCatalog,
  HttpSchemaRegistry,
  crc64Avro,
  fingerprintHex,
  frameSingleObject,
  frameConfluent,
  parseFrame,
  type SchemaRegistry,
} from './codec/index.js';
export type * from './codec/types.js';
export { Executor } from './dispatch/executor.js';
export { KeyedLanes } from './dispatch/lanes.js';
export { HandlerRegistry, BUILTIN_PLUGINS, type HandlerPlugin, type HandlerContext, type HandlerOutcome } from './handlers/index.js';
export type { PlaybookRunner, PlaybookRunRequest, PlaybookRunResult } from './ansible/types.js';
export * from './errors/index.js';
export { createLogger, silentLogger, type Logger } from './observability/logger.js';
export type { ServiceEvents } from './observability/events.js';
export { RESULT_CODES } from './results/builder.js';
export { DLQ_HEADERS } from './results/dead-letter.js';
