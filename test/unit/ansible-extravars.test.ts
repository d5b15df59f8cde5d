import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toUnsafeYaml } from '../../src/ansible/extravars.js';

// Read back like Ansible would (YAML 1.1, `!unsafe` = a plain string). The real
// PyYAML round trip is covered by test/integration/ansible-runner.test.ts.
const unsafeTag = { tag: '!unsafe', resolve: (s: string) => s };
const readBack = (text: string): unknown =>
  parse(text, { version: '1.1', customTags: [unsafeTag], strict: true });

describe('toUnsafeYaml', () => {
  it('tags every string value, including nested ones, and no key', () => {
    const text = toUnsafeYaml({ a: 'x', list: ['y', { b: 'z' }], n: 1 });
    expect(text).toBe('{"a": !unsafe "x", "list": [!unsafe "y", {"b": !unsafe "z"}], "n": 1}\n');
  });

  it('writes only printable ASCII and round-trips awkward strings exactly', () => {
    const value = {
      shell: '$(id) `id` ; rm -rf / && echo | cat > x',
      quotes: `"double" 'single' \\ back\\slash`,
      jinja: "{{ lookup('pipe', 'id') }} {% raw %}",
      control: '\u0000 \u0001 \n \t \r \u007f \u0085 \u2028 \ufeff',
      unicode: 'ünïcödé ☃ 😀',
      'key: with {flow} chars, "quotes"': 'v',
    };
    const text = toUnsafeYaml(value);
    expect(text).toMatch(/^[\x20-\x7e]*\n$/);
    expect(readBack(text)).toEqual(value);
  });

  it('keeps numbers, booleans and null typed', () => {
    const value = { i: 42, neg: -7, f: 2.5, tiny: 1e-7, huge: 1e21, t: true, f2: false, z: null, big: 2 ** 53 };
    const text = toUnsafeYaml(value);
    expect(text).toContain('"tiny": 1.0e-7');
    expect(text).toContain('"huge": 1.0e+21');
    expect(readBack(text)).toEqual(value);
  });

  it('normalises like JSON: undefined members dropped, dates as strings', () => {
    const when = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(readBack(toUnsafeYaml({ a: undefined, when }))).toEqual({ when: when.toISOString() });
    expect(readBack(toUnsafeYaml(undefined))).toEqual({});
  });

  it('replaces lone surrogates, which no YAML reader can decode', () => {
    expect(readBack(toUnsafeYaml({ s: 'a\ud800b' }))).toEqual({ s: 'a\ufffdb' });
  });
});
