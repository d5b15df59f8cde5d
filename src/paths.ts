import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors/index.js';

const PACKAGE_NAME = 'am-handlers';
let cachedRoot: string | undefined;

/**
 * The package root (the directory of our package.json). Found by walking up
 * from this module, so it works from src/ under vitest, from dist/ after tsc
 * and from node_modules/am-handlers/dist when installed as a dependency.
 */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (isOurPackage(join(dir, 'package.json'))) return (cachedRoot = dir);
    if (dirname(dir) === dir) break;
  }
  throw new ConfigError(`cannot find the ${PACKAGE_NAME} package.json above ${start}`);
}

/** `<repo>/playbooks`, or a path inside it. */
export function playbooksDir(...segments: string[]): string {
  return join(repoRoot(), 'playbooks', ...segments);
}

function isOurPackage(path: string): boolean {
  if (!existsSync(path)) return false;
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}
