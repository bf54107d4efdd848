/**
 * `pnpm --silent gibbs aif replay <case.json> [--seed S]`: run one active-inference agent through
 * a case file (model + observation sequence) and print one JSON object, `{ "steps": [...] }`
 * (format in docs/active-inference.md). A bad model or observation exits non-zero with a message
 * naming the array, the index and the expected shape.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { replayJson } from '@gibbs/agents/aif/replay';
import { GibbsError } from '@gibbs/core';
import { z } from 'zod';
import { parseArgs, takeInt } from '../args.ts';

export const describe =
  'active inference tools: `aif replay <case.json>` prints what an agent infers';

function usage(): string {
  return [
    'Usage: pnpm --silent gibbs aif replay <case.json> [--seed S]',
    '  Replays the observations of a case file through one active-inference agent and prints',
    '  {"steps": [{"qs", "q_pi", "neg_efe", "utility", "state_info_gain", "param_info_gain",',
    '  "action", "F"}, ...]} as one JSON object. Format: docs/active-inference.md.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { command: 'gibbs aif', options: { seed: { type: 'string' } } });
  if (args.options.has('help')) {
    console.log(usage());
    return 0;
  }
  const [sub, file, ...rest] = args.positionals;
  if (sub !== 'replay' || !file || rest.length > 0) {
    console.error(usage());
    return 2;
  }
  const seed = takeInt(args, 'seed', 0, 0, 2 ** 32 - 1);
  const path = resolve(process.cwd(), file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GibbsError(
      `case file ${file}: cannot be read (${(err as Error).message})`,
      'case',
      file,
      'a readable JSON file',
      { cause: err },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new GibbsError(
      `case file ${file}: not valid JSON (${(err as Error).message})`,
      'case',
      file,
      'a JSON object',
      { cause: err },
    );
  }
  checkCaseBounds(json);
  process.stdout.write(`${JSON.stringify(replayJson(json, seed))}\n`);
  return 0;
}

/** The most iterations and time steps a case may ask for: enough for any real model, and bounded. */
export const CASE_LIMITS = { numIter: 10_000, window: 1_000, observations: 100_000 } as const;

const boundedInt = (max: number) => z.number().int().min(1).max(max);

/**
 * The counts in a case file that set how long a replay runs, checked before it starts (the full
 * model is validated by replayJson). Anything else is left to replayJson.
 */
const CASE_BOUNDS = z.looseObject({
  model: z
    .looseObject({
      inference: z
        .looseObject({
          num_iter: boundedInt(CASE_LIMITS.numIter).optional(),
          window: boundedInt(CASE_LIMITS.window).optional(),
        })
        .optional(),
    })
    .optional(),
  observations: z.array(z.unknown()).max(CASE_LIMITS.observations).optional(),
});

export function checkCaseBounds(json: unknown): void {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return;
  const r = CASE_BOUNDS.safeParse(json);
  if (r.success) return;
  const issue = r.error.issues[0];
  const path = issue.path.map(String);
  let value: unknown = json;
  for (const k of path) value = (value as Record<string, unknown> | undefined)?.[k];
  const field = path.join('.');
  const expected =
    field === 'observations'
      ? `at most ${CASE_LIMITS.observations} time steps`
      : `an integer in [1, ${field.endsWith('window') ? CASE_LIMITS.window : CASE_LIMITS.numIter}]`;
  throw GibbsError.invalid(
    field,
    Array.isArray(value) ? `${value.length} entries` : value,
    expected,
  );
}
