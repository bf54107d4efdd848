/**
 * A sweep's report: the final metrics of its finished runs (last line of each metrics.jsonl),
 * grouped by grid point, with the mean and a Student-t confidence interval over seeds. Written as
 * Markdown (report.md), one CSV row per grid point (report.csv) and one per run (runs.csv). It
 * reads only run directories, so a run retried after a crash still counts once.
 */
import { join } from 'node:path';
import type { MetricRecord } from '@gibbs/core';
import { GibbsError } from '@gibbs/core';
import { writeFileAtomic } from '@gibbs/core/node';
import type { RunPlan } from './grid.ts';
import { isRunDone, readFinalMetrics, readRunError } from './rundir.ts';
import type { SweepSpec } from './spec.ts';
import { type Summary, summarize } from './stats.ts';

export interface RunResult {
  run: RunPlan;
  metrics: Record<string, number>;
}

export interface PointSummary {
  point: Record<string, unknown>;
  seeds: number[];
  stats: Record<string, Summary>;
}

export interface SweepReport {
  experiment: string;
  grid: string[];
  confidence: number;
  metrics: string[];
  points: PointSummary[];
  runs: RunResult[];
  /** Runs not done: failed (with the error) or not finished. */
  failed: { run: RunPlan; message: string }[];
  pending: RunPlan[];
}

/** A final record flattened: run-wide values by name, group statistics as `group.name`. */
export function flattenMetrics(r: MetricRecord): Record<string, number> {
  const out: Record<string, number> = { ...r.values };
  for (const [g, stats] of Object.entries(r.groups)) {
    for (const [k, v] of Object.entries(stats)) out[`${g}.${k}`] = v;
  }
  return out;
}

export function buildReport(
  dir: string,
  spec: SweepSpec,
  opts: { metrics?: string[]; confidence?: number } = {},
): SweepReport {
  const confidence = opts.confidence ?? 0.95;
  const runs: RunResult[] = [];
  const failed: SweepReport['failed'] = [];
  const pending: RunPlan[] = [];
  for (const run of spec.runs) {
    const runDir = join(dir, run.name);
    if (isRunDone(runDir)) {
      const final = readFinalMetrics(runDir);
      runs.push({ run, metrics: final ? flattenMetrics(final) : {} });
      continue;
    }
    const error = readRunError(runDir);
    if (error) failed.push({ run, message: error.message });
    else pending.push(run);
  }
  const available = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))];
  const metrics = opts.metrics ?? available;
  for (const m of metrics) {
    if (runs.length > 0 && !available.includes(m)) {
      throw GibbsError.invalid('--metrics', m, `metrics of this sweep (${available.join(', ')})`);
    }
  }
  const byPoint = new Map<string, { point: Record<string, unknown>; results: RunResult[] }>();
  for (const run of spec.runs) {
    const key = JSON.stringify(spec.grid.map((p) => run.point[p]));
    if (!byPoint.has(key)) byPoint.set(key, { point: run.point, results: [] });
  }
  for (const r of runs)
    byPoint.get(JSON.stringify(spec.grid.map((p) => r.run.point[p])))?.results.push(r);
  const points: PointSummary[] = [];
  for (const { point, results } of byPoint.values()) {
    const stats: Record<string, Summary> = {};
    for (const m of metrics) {
      const xs = results.map((r) => r.metrics[m]).filter((x) => typeof x === 'number');
      stats[m] = summarize(xs, confidence);
    }
    points.push({ point, seeds: results.map((r) => r.run.seed), stats });
  }
  return {
    experiment: spec.experiment.name,
    grid: spec.grid,
    confidence,
    metrics,
    points,
    runs,
    failed,
    pending,
  };
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return '';
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3)) return x.toExponential(3);
  return String(Number(x.toPrecision(4)));
}

function cell(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * A metric's column name; a metric named like a swept parameter (an experiment that logs its own
 * temperature) is marked as logged, so that the two columns cannot be confused.
 */
function metricHeader(r: SweepReport, m: string, mark: string): string {
  return r.grid.includes(m) ? `${m}${mark}` : m;
}

export function reportMarkdown(r: SweepReport): string {
  const pct = `${Math.round(r.confidence * 100)}%`;
  const head = [...r.grid, 'seeds', ...r.metrics.map((m) => metricHeader(r, m, ' (logged)'))];
  const lines = [
    `# Sweep report: ${r.experiment}`,
    '',
    `Final metrics per grid point: mean ± half-width of the ${pct} Student-t confidence interval over seeds.`,
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
  ];
  for (const p of r.points) {
    const stats = r.metrics.map((m) => {
      const s = p.stats[m];
      if (s.n === 0) return '';
      return s.n < 2 ? fmt(s.mean) : `${fmt(s.mean)} ± ${fmt((s.hi - s.lo) / 2)}`;
    });
    lines.push(
      `| ${[...r.grid.map((g) => cell(p.point[g])), String(p.seeds.length), ...stats].join(' | ')} |`,
    );
  }
  lines.push(
    '',
    `${r.runs.length} runs done, ${r.failed.length} failed, ${r.pending.length} not finished.`,
  );
  for (const f of r.failed) lines.push(`- failed ${f.run.name}: ${f.message.split('\n')[0]}`);
  return `${lines.join('\n')}\n`;
}

function csvField(v: unknown): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : cell(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per grid point: parameters, n, then mean, lo, hi for each metric. */
export function reportCsv(r: SweepReport): string {
  const head = [...r.grid, 'n', ...r.metrics.flatMap((m) => [`${m}_mean`, `${m}_lo`, `${m}_hi`])];
  const rows = r.points.map((p) => [
    ...r.grid.map((g) => p.point[g]),
    p.seeds.length,
    ...r.metrics.flatMap((m) => [p.stats[m].mean, p.stats[m].lo, p.stats[m].hi]),
  ]);
  return `${[head, ...rows].map((row) => row.map(csvField).join(',')).join('\n')}\n`;
}

/** One row per finished run: parameters, seed, final metrics. */
export function runsCsv(r: SweepReport): string {
  const head = [...r.grid, 'seed', ...r.metrics.map((m) => metricHeader(r, m, '_logged'))];
  const rows = r.runs.map((x) => [
    ...r.grid.map((g) => x.run.point[g]),
    x.run.seed,
    ...r.metrics.map((m) => x.metrics[m]),
  ]);
  return `${[head, ...rows].map((row) => row.map(csvField).join(',')).join('\n')}\n`;
}

/** Write report.md, report.csv and runs.csv into the sweep directory; returns their paths. */
export function writeReport(dir: string, r: SweepReport): string[] {
  const files: [string, string][] = [
    ['report.md', reportMarkdown(r)],
    ['report.csv', reportCsv(r)],
    ['runs.csv', runsCsv(r)],
  ];
  return files.map(([name, text]) => {
    writeFileAtomic(join(dir, name), text);
    return join(dir, name);
  });
}
