/**
 * Extra vars as YAML in which every string is tagged `!unsafe`.
 *
 * Why not plain JSON: Ansible templates variable values again when they are
 * used, so an event field such as `{{ lookup('pipe', 'id') }}` in a JSON
 * extra-vars file RUNS ON THE CONTROLLER. `!unsafe` strings are never
 * templated: playbooks get the bytes the event carried. (Dict keys are not
 * templated by Ansible and stay plain.)
 *
 * The output is a single flow-style document that PyYAML (YAML 1.1) reads
 * back exactly: only printable ASCII is written raw, everything else is
 * escaped, and floats always carry a '.' (PyYAML reads `1e+21` as a string).
 */
export function toUnsafeYaml(value: unknown): string {
  // Normalise like JSON would (toJSON, undefined members dropped, NaN -> null).
  const plain: unknown = JSON.parse(JSON.stringify(value ?? {}));
  return `${emit(plain)}\n`;
}

function emit(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return emitNumber(value);
  if (typeof value === 'string') return `!unsafe ${quote(value)}`;
  if (Array.isArray(value)) return `[${value.map(emit).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${quote(k)}: ${emit(v)}`).join(', ')}}`;
}

function emitNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const text = String(n);
  if (text.includes('.')) return text;
  // e.g. 1e-7 or 1e+21: PyYAML's float pattern needs a dot and a signed exponent.
  return text.replace(/^(-?\d+)e([+-]?)(\d+)$/, (_m, mant: string, sign: string, exp: string) => `${mant}.0e${sign || '+'}${exp}`);
}

/** A YAML double-quoted scalar with only printable ASCII inside. */
function quote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code >= 0x20 && code <= 0x7e) out += ch;
    else if (code >= 0xd800 && code <= 0xdfff) out += '\\uFFFD'; // lone surrogate: not encodable
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}
