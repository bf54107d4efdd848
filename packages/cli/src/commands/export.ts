/**
 * `pnpm gibbs export <checkpoint> <dir> [--actor-only] [--overwrite] [--json]`: write a
 * checkpoint's network as a stock tfjs LayersModel (model.json + weights.bin) that
 * `tf.loadLayersModel` loads anywhere, checked against Gibbs's own network before it is put in
 * place. The input layout is in docs/model-files.md.
 */
import { GibbsError } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { parseArgs, takeBackend, takeFlag } from '../args.ts';

export const describe =
  "write a checkpoint's network as a stock tfjs LayersModel (tf.loadLayersModel loads it)";

function usage(): string {
  return [
    'Usage: pnpm gibbs export <checkpoint> <dir> [--actor-only] [--overwrite] [--json] [--backend B]',
    '<checkpoint>: a battle-train run directory (its latest checkpoint), a round-NNNNNN directory',
    '  (its learner), a network directory (learner/, learner-target/, opponent/) or its model.json.',
    '<dir>: where model.json and weights.bin go; new or empty unless --overwrite.',
    '--actor-only: actor-critic networks (mfac, ac): the actor alone (outputs logits; no mean action).',
    '--json: print the report as one JSON object.',
    'Inputs: view [h, w, c], features [F], mean_action [A] (mean-field algorithms); outputs: q (mfq,',
    'il) or logits and critic (mfac, ac). See docs/model-files.md.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'gibbs export',
    options: {
      'actor-only': { type: 'boolean' },
      overwrite: { type: 'boolean' },
      json: { type: 'boolean' },
      backend: { type: 'string' },
    },
  });
  if (args.options.has('help')) {
    console.log(usage());
    return 0;
  }
  const actorOnly = takeFlag(args, 'actor-only');
  const overwrite = takeFlag(args, 'overwrite');
  const json = takeFlag(args, 'json');
  const backend = takeBackend(args) ?? process.env.GIBBS_BACKEND;
  const [checkpoint, outDir, ...rest] = args.positionals;
  if (checkpoint === undefined) {
    throw GibbsError.invalid(
      '<checkpoint>',
      undefined,
      'a run directory, round directory, network directory or model.json (gibbs export --help)',
    );
  }
  if (outDir === undefined) {
    throw GibbsError.invalid(
      '<dir>',
      undefined,
      'the directory to write model.json and weights.bin into (gibbs export --help)',
    );
  }
  if (rest.length > 0) {
    throw GibbsError.invalid('arguments', args.positionals, 'two: <checkpoint> <dir>');
  }
  await initBackend(backend);
  const { exportCheckpoint, formatExportReport } = await import('@gibbs/agents/export-files');
  const report = await exportCheckpoint(checkpoint, outDir, { actorOnly, overwrite });
  console.log(json ? JSON.stringify(report) : formatExportReport(report));
  return 0;
}
