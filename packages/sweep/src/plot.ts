/**
 * A sweep report drawn as a curve: one metric's mean against one numeric grid parameter, with its
 * confidence band, one series per value of the other swept parameters. As an SVG (no dependency:
 * a few paths and text) or as an ASCII plot for a terminal or a Markdown code block.
 */
import { GibbsError } from '@gibbs/core';
import type { SweepReport } from './report.ts';

export interface Series {
  label: string;
  points: { x: number; mean: number; lo: number; hi: number }[];
}

/** Series for one or more metrics (`ys`), each split by the values of the other parameters. */
export function seriesOf(r: SweepReport, x: string, ys: string | string[]): Series[] {
  const list = typeof ys === 'string' ? [ys] : ys;
  if (list.length === 1) return seriesOfMetric(r, x, list[0]);
  return list.flatMap((y) =>
    seriesOfMetric(r, x, y).map((s) => ({ ...s, label: s.label === y ? y : `${y}: ${s.label}` })),
  );
}

function seriesOfMetric(r: SweepReport, x: string, y: string): Series[] {
  if (!r.grid.includes(x))
    throw GibbsError.invalid('--x', x, `a swept parameter (${r.grid.join(', ')})`);
  if (!r.metrics.includes(y))
    throw GibbsError.invalid('--y', y, `a metric (${r.metrics.join(', ')})`);
  const others = r.grid.filter((g) => g !== x);
  const byLabel = new Map<string, Series>();
  for (const p of r.points) {
    const xv = p.point[x];
    if (typeof xv !== 'number')
      throw GibbsError.invalid('--x', x, 'a parameter with numeric values');
    const s = p.stats[y];
    if (!s || s.n === 0) continue;
    const label = others.map((o) => `${o}=${String(p.point[o])}`).join(', ') || y;
    if (!byLabel.has(label)) byLabel.set(label, { label, points: [] });
    byLabel.get(label)?.points.push({ x: xv, mean: s.mean, lo: s.lo, hi: s.hi });
  }
  const series = [...byLabel.values()];
  for (const s of series) s.points.sort((a, b) => a.x - b.x);
  return series;
}

/** Round tick values (1, 2, 5 x 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)) + 0); // + 0: no -0 tick
  }
  return ticks;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function extent(series: Series[]): { x0: number; x1: number; y0: number; y1: number } {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const s of series) {
    for (const p of s.points) {
      x0 = Math.min(x0, p.x);
      x1 = Math.max(x1, p.x);
      for (const v of [p.mean, p.lo, p.hi]) {
        if (Number.isFinite(v)) {
          y0 = Math.min(y0, v);
          y1 = Math.max(y1, v);
        }
      }
    }
  }
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  return { x0, x1, y0, y1 };
}

export function plotSvg(
  series: Series[],
  opts: { x: string; y: string; title: string; confidence: number },
): string {
  const W = 640;
  const H = 400;
  const m = { l: 64, r: 16, t: 36, b: 48 };
  const e = extent(series);
  const yt = niceTicks(e.y0, e.y1);
  const xt = niceTicks(e.x0, e.x1, 8);
  const y0 = Math.min(e.y0, yt[0]);
  const y1 = Math.max(e.y1, yt[yt.length - 1]);
  const sx = (x: number) => m.l + ((x - e.x0) / (e.x1 - e.x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const f = (v: number) => v.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${xml(opts.title)}</text>`,
  ];
  for (const t of yt) {
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#e5e5e5"/>`,
    );
    out.push(`<text x="${m.l - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${t}</text>`);
  }
  for (const t of xt) {
    out.push(
      `<line x1="${f(sx(t))}" x2="${f(sx(t))}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="black"/>`,
    );
    out.push(`<text x="${f(sx(t))}" y="${H - m.b + 18}" text-anchor="middle">${t}</text>`);
  }
  out.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="black"/>`,
  );
  out.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle">${xml(opts.x)}</text>`);
  out.push(
    `<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">${xml(opts.y)} (mean, ${Math.round(opts.confidence * 100)}% CI)</text>`,
  );
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const band = s.points.filter((p) => Number.isFinite(p.lo));
    if (band.length > 1) {
      const upper = band.map((p) => `${f(sx(p.x))},${f(sy(p.hi))}`);
      const lower = band.map((p) => `${f(sx(p.x))},${f(sy(p.lo))}`).reverse();
      out.push(
        `<polygon points="${[...upper, ...lower].join(' ')}" fill="${c}" fill-opacity="0.18" stroke="none"/>`,
      );
    }
    const line = s.points.map((p) => `${f(sx(p.x))},${f(sy(p.mean))}`).join(' ');
    out.push(`<polyline points="${line}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const p of s.points)
      out.push(`<circle cx="${f(sx(p.x))}" cy="${f(sy(p.mean))}" r="3" fill="${c}"/>`);
    if (series.length > 1) {
      out.push(
        `<text x="${W - m.r - 8}" y="${m.t + 16 + 16 * i}" text-anchor="end" fill="${c}">${xml(s.label)}</text>`,
      );
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The first series as text: one column per grid point, `*` at the mean and `|` over the
 * confidence interval, y labels on the left.
 */
export function plotAscii(series: Series[], opts: { x: string; y: string; rows?: number }): string {
  const rows = opts.rows ?? 16;
  const s = series[0];
  if (!s || s.points.length === 0) return '(no finished runs)\n';
  const e = extent([s]);
  const row = (v: number) => Math.round(((e.y1 - v) / (e.y1 - e.y0)) * (rows - 1));
  const width = 2;
  const grid = Array.from({ length: rows }, () => Array<string>(s.points.length * width).fill(' '));
  s.points.forEach((p, j) => {
    if (Number.isFinite(p.lo))
      for (let r = row(p.hi); r <= row(p.lo); r++) grid[r][j * width] = '|';
    grid[row(p.mean)][j * width] = '*';
  });
  const label = (r: number) => (e.y1 - (r / (rows - 1)) * (e.y1 - e.y0)).toPrecision(3).padStart(8);
  const lines = grid.map(
    (cells, r) => `${r % 3 === 0 || r === rows - 1 ? label(r) : ' '.repeat(8)} |${cells.join('')}`,
  );
  lines.push(`${' '.repeat(8)} +${'-'.repeat(s.points.length * width)}`);
  const first = String(s.points[0].x);
  const last = String(s.points[s.points.length - 1].x);
  const gap = Math.max(1, s.points.length * width - first.length - last.length);
  lines.push(`${' '.repeat(10)}${first}${' '.repeat(gap)}${last}`);
  lines.push(`${' '.repeat(10)}${opts.x} -> ; ${opts.y}: * mean, | confidence interval`);
  return `${lines.join('\n')}\n`;
}
