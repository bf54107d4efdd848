import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GibbsError } from '../src/errors.ts';
import { expectedOf, parseParams } from '../src/experiment.ts';

const schema = z.object({
  agents: z.number().int().positive().default(100),
  temperature: z.number().positive().default(1),
  placement: z.enum(['block', 'random']).default('block'),
  label: z.string().default('x'),
});

describe('parseParams', () => {
  it('coerces strings from a command line by the schema and fills defaults', () => {
    expect(parseParams(schema, { agents: '250', placement: 'random' }, 'exp')).toEqual({
      agents: 250,
      temperature: 1,
      placement: 'random',
      label: 'x',
    });
    expect(parseParams(schema, { label: '123' }, 'exp').label).toBe('123');
  });

  it('names the parameter, the value and what is valid for an ill-typed value', () => {
    try {
      parseParams(schema, { agents: '2xabc' }, 'experiment "battle"');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(GibbsError);
      const msg = (e as Error).message;
      expect(msg).toContain('--agents');
      expect(msg).toContain('"2xabc"');
      expect(msg).toContain('integer');
    }
    expect(() => parseParams(schema, { agents: '-3' }, 'e')).toThrow(/--agents: got -3, expected/);
    expect(() => parseParams(schema, { placement: 'diagonal' }, 'e')).toThrow(
      /one of "block", "random"/,
    );
  });

  it('rejects an unknown parameter and lists the valid ones', () => {
    expect(() => parseParams(schema, { agnets: '5' }, 'e')).toThrow(
      /unknown parameter --agnets.*agents, temperature, placement, label/,
    );
  });

  it('says a range as the schema means it: exclusive bounds, integers, no safe-integer edges', () => {
    const say = (t: z.ZodType) => expectedOf(t, 'x');
    // .positive() on an integer is ">= 1", never "[0, ...": 0 is refused.
    expect(say(z.number().int().positive())).toBe('an integer >= 1 (x)');
    expect(say(z.number().int().min(0))).toBe('an integer >= 0 (x)');
    expect(say(z.number().int().min(1).max(64))).toBe('an integer in [1, 64] (x)');
    expect(say(z.number().int().gt(2).lt(9))).toBe('an integer in [3, 8] (x)');
    expect(say(z.number().positive())).toBe('a number > 0 (x)');
    expect(say(z.number().gt(0).max(1))).toBe('a number in (0, 1] (x)');
    expect(say(z.number().min(0).lt(1))).toBe('a number in [0, 1) (x)');
    expect(say(z.number())).toBe('a number (x)');
    expect(() => parseParams(schema, { agents: '0' }, 'e')).toThrow(
      /--agents: got 0, expected an integer >= 1/,
    );
  });
});
