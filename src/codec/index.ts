export { AvroCodec, type Decoded, type WriterInfo } from './codec.js';
export { SchemaCatalog, DEFAULT_SCHEMAS_DIR, type SchemaKind, type SchemaVersion } from './catalog.js';
export { crc64Avro, fingerprintBytes, fingerprintHex } from './crc64.js';
export { frameConfluent, frameSingleObject, parseFrame, type Frame } from './framing.js';
export { HttpSchemaRegistry, type SchemaRegistry } from './registry.js';
export * from './types.js';
