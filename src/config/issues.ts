import type { z } from 'zod';
import { ConfigError } from '../errors/index.js';
import { envOriginOf } from './env.js';

/**
 * "`handlers.vm.timeouts.REDEEM`: expected a duration like `15m`, got `fast`" for each zod issue; a value that came
 * from the environment ends with "(from env AMH_...)".
 */
export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly (string | number)[] = [],
  origins?: ReadonlyMap<string, string>,
): string[] {
  return issues.map((issue) => {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? p.toString() : p))].join('.');
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => (path ? `${path}.${k}` : k)) : [path];
    const from = [...new Set(paths.map((p) => envOriginOf(origins, p)).filter(Boolean))];
    return `\`${path || '(root)'}\`: ${describeIssue(issue)}${from.length > 0 ? ` (from env ${from.join(', ')})` : ''}`;
  });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key(s) ${issue.keys.map((k) => `\`${k}\``).join(', ')}`;
  if (issue.code === 'invalid_type') {
    return `expected ${issue.expected}, got ${issue.input === undefined ? 'nothing' : JSON.stringify(issue.input)}`;
  }
  return issue.message;
}

/** Parse `value` with `schema` or throw one ConfigError listing every problem with its path (and env variable). */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  value: unknown,
  source: string,
  prefix: readonly (string | number)[] = [],
  origins?: ReadonlyMap<string, string>,
): z.output<T> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const lines = formatIssues(result.error.issues, prefix, origins);
  throw new ConfigError(`invalid configuration in ${source}:\n  ${lines.join('\n  ')}`);
}
