import { expect, test } from 'vitest';
import { x } from '../../src/index.js';
test('x', () => expect(x).toBe(1));
