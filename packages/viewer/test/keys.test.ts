/** The shortcut table binds and documents the same keys. */
import { describe, expect, it } from 'vitest';
import { KEYS } from '../src/keys.ts';

const SHOWN_AS: Record<string, string> = { space: ' ', Esc: 'Escape' };

describe('keys', () => {
  it('binds each key once', () => {
    const keys = KEYS.flatMap((row) => Object.keys(row.bind));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('shows each row its own keys, and every action has a shown key', () => {
    for (const row of KEYS) {
      for (const k of row.shown) expect(row.bind, k).toHaveProperty([SHOWN_AS[k] ?? k]);
      const shownActions = new Set(row.shown.map((k) => row.bind[SHOWN_AS[k] ?? k]));
      expect(new Set(Object.values(row.bind))).toEqual(shownActions);
    }
  });
});
