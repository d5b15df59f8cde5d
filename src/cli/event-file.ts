import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { ValidationError } from '../errors/index.js';

/**
 * The events of a YAML/JSON file, as `amh send` and `amh plan` read them:
 * one event, a list of events, `{events: [...]}`, or several YAML documents.
 */
export function readEvents(file: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const out: Record<string, unknown>[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length > 0) throw new ValidationError(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    const list = Array.isArray(value) ? value : (value as { events?: unknown })?.events ?? [value];
    for (const item of list as unknown[]) {
      if (!item || typeof item !== 'object') throw new ValidationError(`${file}: every event must be a mapping`);
      out.push(item as Record<string, unknown>);
    }
  }
  if (out.length === 0) throw new ValidationError(`${file}: no events`);
  return out;
}
