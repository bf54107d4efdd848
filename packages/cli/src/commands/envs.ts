/** `pnpm gibbs envs`: every registered environment with its spec (groups, views, actions). */
import { describeSpec } from '@gibbs/core';
import { environments } from '@gibbs/env';
import { parseArgs, takeFlag } from '../args.ts';

export const describe = 'list the built-in environments and their specs';

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { command: 'gibbs envs', options: { json: { type: 'boolean' } } });
  if (args.options.has('help')) {
    console.log('Usage: pnpm gibbs envs [--json]');
    return 0;
  }
  const json = takeFlag(args, 'json');
  const out: unknown[] = [];
  for (const entry of Object.values(environments)) {
    const env = entry.create(entry.config.parse({}));
    if (json) out.push({ name: entry.name, description: entry.description, spec: env.spec });
    else console.log(`${describeSpec(env.spec)}\n  ${entry.description}\n`);
  }
  if (json) console.log(JSON.stringify(out, null, 2));
  return 0;
}
