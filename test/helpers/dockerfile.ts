/** One instruction of a Dockerfile: `RUN`, `ENV`, ... with its arguments (continuation lines joined). */
export interface DockerInstruction {
  instruction: string;
  args: string;
  line: number;
}

/** Line by line, as docker reads it: comments and blank lines dropped, `\` continuations joined. */
export function parseDockerfile(text: string): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') start = i + 1;
    if (line.startsWith('#')) return; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const match = /^(\S+)\s+([\s\S]*)$/.exec(full);
    if (match) out.push({ instruction: (match[1] as string).toUpperCase(), args: (match[2] as string).trim(), line: start });
  });
  return out;
}

/** `ENV A=1 B=2` (and the old `ENV A 1`) as a map. */
export function dockerEnv(instructions: readonly DockerInstruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions.filter((i) => i.instruction === 'ENV')) {
    if (!/^\S+=/.test(args)) {
      const [key, ...rest] = args.split(/\s+/);
      env[key as string] = rest.join(' ');
      continue;
    }
    for (const m of args.matchAll(/(\S+?)=("(?:[^"\\]|\\.)*"|\S+)/g)) env[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
  }
  return env;
}

/** The exec form (`["a", "b"]`) of CMD, ENTRYPOINT or a HEALTHCHECK's CMD. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec form: ${args}`);
  return parsed;
}
