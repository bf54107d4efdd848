/**
 * `gibbs export` (Node): a checkpoint's network written as a stock tfjs LayersModel
 * (`model.json` + `weights.bin`, export.ts), then loaded back the way any tfjs program loads it
 * (`tf.loadLayersModel(tf.io.fromMemory(...))`) and checked against Gibbs's own network on random
 * observations before it is put in place. Nothing of the checkpoint is changed.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { GibbsError } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { AtomicFileHandler, loadTensors, resolveCheckpoint } from './checkpoint.ts';
import {
  buildLayersModel,
  describeSpec,
  EXPORT_FORMAT,
  type ExportOptions,
  type ExportSpec,
  exportInputs,
  exportOutputs,
  gibbsNetwork,
  gibbsOutputs,
  maxAbs,
  maxAbsDiff,
  randomBatch,
  stockOutputs,
  type TensorDoc,
} from './export.ts';
import { NETS, type NetKind } from './nets.ts';

export interface ExportFileOptions extends ExportOptions {
  /** Replace the files of a directory that is not empty. */
  readonly overwrite?: boolean;
  /** Random observations the reloaded model is checked on (default 256). */
  readonly verifyRows?: number;
}

export interface ExportReport {
  /** The model.json of the network exported. */
  readonly source: string;
  readonly outDir: string;
  readonly spec: ExportSpec;
  readonly inputs: TensorDoc[];
  readonly outputs: TensorDoc[];
  /** Rows of the check, and the largest |stock - gibbs| over every output on them. */
  readonly verifiedRows: number;
  readonly maxAbsDiff: number;
  /** Largest |output| on those rows (the scale of the difference). */
  readonly maxAbsOutput: number;
}

/** |stock - gibbs| may be at most this times max(1, max |output|) (float32 sums in another order). */
export const EXPORT_TOLERANCE = 1e-4;

/**
 * Load an exported model the stock way: model.json's topology and weights manifest and the
 * weights file through `tf.io.fromMemory`, then `tf.loadLayersModel`. The caller disposes it.
 */
export async function loadExportedModel(dir: string): Promise<tf.LayersModel> {
  const file = join(dir, 'model.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const data = json.weightsManifest.flatMap((g) =>
    g.paths.map((p) => new Uint8Array(readFileSync(join(dir, p)))),
  );
  const bytes = new Uint8Array(data.reduce((n, d) => n + d.length, 0));
  let o = 0;
  for (const d of data) {
    bytes.set(d, o);
    o += d.length;
  }
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: specs,
      weightData: bytes.buffer,
    }),
  );
}

/** What a checkpoint's model.json says the network is, checked. */
function specOf(
  topology: { algo: string; role: string; shape: object; config: Record<string, unknown> },
  file: string,
): ExportSpec {
  if (topology.role === 'optimizer') {
    throw GibbsError.invalid(
      `checkpoint ${file}: role`,
      topology.role,
      "a network (learner, target or opponent); this file holds Adam's moments",
    );
  }
  const net = topology.config.net ?? 'mfrl'; // the default of every algorithm's config
  if (!(NETS as readonly unknown[]).includes(net)) {
    throw GibbsError.invalid(`checkpoint ${file}: config.net`, net, `one of ${NETS.join(', ')}`);
  }
  const algo = topology.algo as ExportSpec['algo'];
  const shape = topology.shape as Partial<ExportSpec['shape']>;
  return {
    algo,
    net: net as NetKind,
    shape: {
      ...(shape as ExportSpec['shape']),
      meanAction: shape.meanAction ?? (algo === 'mfq' || algo === 'mfac'),
    },
  };
}

/** A stock LayersModel (an export) is not a checkpoint: say so rather than what it lacks. */
function notAnExport(file: string): void {
  let format: unknown;
  try {
    format = (JSON.parse(readFileSync(file, 'utf8')) as { format?: unknown }).format;
  } catch {
    return; // loadTensors names what is wrong with it
  }
  if (format === 'layers-model') {
    throw GibbsError.invalid(
      `checkpoint ${file}: format`,
      format,
      'a gibbs checkpoint (this is already a tfjs LayersModel: load it with tf.loadLayersModel)',
    );
  }
}

function checkOutDir(outDir: string, network: string, overwrite: boolean): void {
  const out = resolve(outDir);
  if (out === resolve(network)) {
    throw GibbsError.invalid('<dir>', outDir, "a directory other than the checkpoint's own");
  }
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw GibbsError.invalid('<dir>', outDir, 'a directory');
  const entries = readdirSync(out);
  if (entries.length > 0 && !overwrite) {
    throw GibbsError.invalid(
      '<dir>',
      outDir,
      `a new or empty directory (it holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); give --overwrite to replace its model.json and weights.bin`,
    );
  }
}

/**
 * Export the network a user names (a run directory, a round directory, a network directory or its
 * model.json: checkpoint.ts's resolveCheckpoint) into `outDir` as a stock tfjs LayersModel, after
 * checking that the model, loaded back the stock way, computes what Gibbs computes.
 */
export async function exportCheckpoint(
  checkpoint: string,
  outDir: string,
  opts: ExportFileOptions = {},
): Promise<ExportReport> {
  const { network } = resolveCheckpoint(checkpoint);
  const source = join(network, 'model.json');
  checkOutDir(outDir, network, opts.overwrite ?? false);
  notAnExport(source);
  const { topology, tensors } = await loadTensors(network, {});
  const out = resolve(outDir);
  const tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  let model: tf.LayersModel | null = null;
  let reloaded: tf.LayersModel | null = null;
  let gibbs: ReturnType<typeof gibbsNetwork> | null = null;
  try {
    const spec = specOf(topology, source);
    model = buildLayersModel(spec, tensors, { actorOnly: opts.actorOnly, source });
    const inputs = exportInputs(spec, opts);
    const outputs = exportOutputs(spec, opts);
    const round = /^round-(\d+)$/.exec(basename(dirname(network)))?.[1];
    model.setUserDefinedMetadata({
      gibbs: {
        format: EXPORT_FORMAT,
        algo: spec.algo,
        net: spec.net,
        role: topology.role,
        ...(round !== undefined ? { round: Number(round) } : {}),
        shape: spec.shape,
        inputs,
        outputs,
        config: topology.config,
      },
    });
    rmSync(tmp, { recursive: true, force: true });
    await model.save(new AtomicFileHandler(tmp));
    // The check: loaded back as any tfjs program loads it, against nets.ts on the same rows.
    reloaded = await loadExportedModel(tmp);
    gibbs = gibbsNetwork(spec, tensors);
    const rows = opts.verifyRows ?? 256;
    const batch = randomBatch(spec.shape, rows, 1);
    const want = gibbsOutputs(spec, gibbs, batch, opts);
    const got = stockOutputs(spec, reloaded, batch, opts);
    const diff = maxAbsDiff(want, got);
    const scale = maxAbs(want);
    if (!(diff <= EXPORT_TOLERANCE * Math.max(1, scale))) {
      throw new GibbsError(
        `export ${source}: the exported model differs from gibbs's network by ${diff} on ${rows} random observations (outputs up to ${scale}); expected at most ${EXPORT_TOLERANCE} x max(1, ${scale})`,
        'export',
        diff,
        `at most ${EXPORT_TOLERANCE * Math.max(1, scale)}`,
      );
    }
    mkdirSync(out, { recursive: true });
    renameSync(join(tmp, 'weights.bin'), join(out, 'weights.bin'));
    renameSync(join(tmp, 'model.json'), join(out, 'model.json'));
    return {
      source,
      outDir: out,
      spec,
      inputs,
      outputs,
      verifiedRows: rows,
      maxAbsDiff: diff,
      maxAbsOutput: scale,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    tf.dispose(tensors);
    model?.dispose();
    reloaded?.dispose();
    gibbs?.dispose();
  }
}

/** The report in a few lines, as `gibbs export` prints it. */
export function formatExportReport(r: ExportReport): string {
  const list = (ds: readonly TensorDoc[]) => ds.map((d) => `${d.name} [${d.shape}]`).join(', ');
  return [
    `wrote ${join(r.outDir, 'model.json')} + weights.bin: a tfjs LayersModel of the ${describeSpec(r.spec)}`,
    `  inputs  ${list(r.inputs)}`,
    `  outputs ${list(r.outputs)}`,
    `  loaded back with tf.loadLayersModel: max |difference| from gibbs ${r.maxAbsDiff.toExponential(2)} on ${r.verifiedRows} random observations (outputs up to ${r.maxAbsOutput.toFixed(3)})`,
  ].join('\n');
}
