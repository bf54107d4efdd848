/**
 * Random and adversarial values through the CLI's parameter parsing, the case-file bounds and the
 * checkpoint parsers: each either gives a valid result or a one-line GibbsError, never another
 * exception, and within bounded time.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { replayJson } from '@gibbs/agents/aif/replay';
import { CHECKPOINT_FORMAT, readTrainingState, resolveCheckpoint } from '@gibbs/agents/checkpoint';
import { type Experiment, GibbsError, parseParams } from '@gibbs/core';
import { checkDirPath, ensureDir } from '@gibbs/core/node';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs, takeBackend, takeInt } from '../src/args.ts';
import { checkCaseBounds } from '../src/commands/aif.ts';
import { loadExperiment, REPO_ROOT } from '../src/repo.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gibbs-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Run `f`: it returns, or throws a GibbsError with a one-line message; anything else fails. */
function gibbsOrValue<T>(f: () => T): T | GibbsError {
  try {
    return f();
  } catch (err) {
    if (!(err instanceof GibbsError)) throw err;
    expect(err.message).not.toContain('\n');
    return err;
  }
}

/** Strings a user (or an attacker) might type for a number. */
const numberish = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.double().map(String),
  fc.integer().map(String),
  fc.constantFrom(
    '0x10',
    '0b11',
    '0o7',
    '1e-300',
    '1e308',
    '-1e308',
    'NaN',
    'Infinity',
    '-0',
    '',
    ' ',
    '1_000',
    '٣',
    '1e3',
    '+5',
    '.5',
    '5.',
    'true',
    'null',
    '{}',
  ),
);

describe('CLI parameter parsing', () => {
  it('takeInt: a decimal integer in range, or a GibbsError naming the option', () => {
    fc.assert(
      fc.property(numberish, fc.integer({ min: -5, max: 5 }), (raw, min) => {
        const r = gibbsOrValue(() => takeInt(parseArgs(['--steps', raw]), 'steps', 1, min, 1e6));
        if (r instanceof GibbsError) expect(r.message).toMatch(/^--steps: got /);
        else {
          expect(Number.isInteger(r)).toBe(true);
          expect(r).toBeGreaterThanOrEqual(min);
          expect(r).toBeLessThanOrEqual(1e6);
          if (!raw.startsWith('-')) expect(/^[+]?[\d.]/.test(raw)).toBe(true);
          expect(raw).not.toMatch(/^0[xob]/i);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parseArgs and takeBackend on random argument lists', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('--backend', '--', '--x')), {
          maxLength: 8,
        }),
        (argv) => {
          const r = gibbsOrValue(() => takeBackend(parseArgs(argv)));
          if (!(r instanceof GibbsError) && r !== undefined)
            expect(['webgpu', 'webgl', 'wasm', 'cpu']).toContain(r);
        },
      ),
      { numRuns: 1000 },
    );
  });

  const names = ['ising', 'ising-mcmc', 'battle', 'battle-train', 'tmaze', 'gather', 'aif-forage'];
  const experiments: Record<string, Experiment> = {};
  beforeAll(async () => {
    for (const name of names) experiments[name] = await loadExperiment(name);
  }, 60_000);

  it.each(names)('parseParams of %s: random values give a valid config or a GibbsError', (name) => {
    const exp = experiments[name];
    const keys = [...Object.keys(exp.params.shape), 'unknown'];
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...keys), fc.oneof(numberish, fc.boolean(), fc.double()), {
          maxKeys: 4,
        }),
        (raw) => {
          const r = gibbsOrValue(() => parseParams(exp.params, raw, `experiment "${name}"`));
          if (r instanceof GibbsError) return;
          // A valid config: every number finite, and the memory estimate (if any) a number.
          for (const v of Object.values(r as Record<string, unknown>))
            if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
          if (exp.estimateBytes) expect(exp.estimateBytes(r)).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('paths: random --out values are a directory or a GibbsError (never ENOENT, never a hang)', () => {
    const segment = fc
      .string({ minLength: 1, maxLength: 6 })
      .filter((s) => s !== '..' && s !== '.' && !s.includes('/'));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(segment, { minLength: 1, maxLength: 4 }).map((p) => join(tmp, 'paths', ...p)),
          fc.constantFrom('/proc/1/x', '/sys/fs/x', '/dev/zero/x', '/dev/null', '', ' ', '\0'),
        ),
        (path) => {
          const checked = gibbsOrValue(() => checkDirPath(path, '--out'));
          const made = gibbsOrValue(() => ensureDir(path, '--out'));
          if (!(made instanceof GibbsError)) expect(checked).not.toBeInstanceOf(GibbsError);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('case files', () => {
  const base = JSON.parse(
    readFileSync(
      resolve(REPO_ROOT, 'packages/agents/test/conformance/pymdp/no_state_ig.json'),
      'utf8',
    ),
  );

  it('checkCaseBounds on any JSON: passes or a GibbsError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        gibbsOrValue(() => checkCaseBounds(json));
      }),
      { numRuns: 1000 },
    );
  });

  it('a case with random inference counts replays or is refused, in bounded time', () => {
    fc.assert(
      fc.property(
        fc.record({
          num_iter: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(1e9, 1e300, -1, 0)),
          window: fc.oneof(fc.integer({ min: -3, max: 5000 }), fc.constant(1e12)),
          policy_len: fc.oneof(fc.integer({ min: -1, max: 12 }), fc.double()),
        }),
        ({ num_iter, window, policy_len }) => {
          const json = structuredClone(base);
          json.model.inference.num_iter = num_iter;
          json.model.inference.window = window;
          json.model.policy_len = policy_len;
          const t0 = performance.now();
          gibbsOrValue(() => {
            checkCaseBounds(json);
            return replayJson(json, 0);
          });
          expect(performance.now() - t0).toBeLessThan(5000);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('checkpoint parsers', () => {
  it('latest.json: any JSON resolves to a round directory inside checkpoints/ or is a GibbsError', () => {
    const run = join(tmp, 'latest');
    mkdirSync(join(run, 'checkpoints'), { recursive: true });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.string()), (latest) => {
        writeFileSync(
          join(run, 'checkpoints', 'latest.json'),
          typeof latest === 'string' ? latest : JSON.stringify(latest),
        );
        const r = gibbsOrValue(() => resolveCheckpoint(run));
        if (!(r instanceof GibbsError))
          expect(r.round).toMatch(new RegExp(`^${join(run, 'checkpoints')}/round-\\d{6,}$`));
      }),
      { numRuns: 500 },
    );
  });

  it('state.json: any JSON is a training state with round, step >= 0, or a GibbsError', () => {
    const dir = join(tmp, 'state');
    mkdirSync(dir, { recursive: true });
    const selfplay = fc.record(
      {
        round: fc.oneof(fc.integer({ min: -10, max: 10 }), fc.double(), fc.string()),
        step: fc.oneof(fc.nat(), fc.integer({ min: -5, max: -1 }), fc.constant(null)),
        rng: fc.oneof(fc.array(fc.integer(), { maxLength: 4 }), fc.jsonValue()),
        temperature: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          selfplay.map((sp) => ({ format: CHECKPOINT_FORMAT, algo: 'mfq', selfplay: sp })),
        ),
        (state) => {
          writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
          const r = gibbsOrValue(() => readTrainingState(dir));
          if (r instanceof GibbsError) return;
          const sp = r.selfplay as { round: number; step: number };
          expect(Number.isInteger(sp.round) && sp.round >= 0).toBe(true);
          expect(Number.isInteger(sp.step) && sp.step >= 0).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
