/**
 * Time series of the run (uPlot): reward and alive counts per group, policy entropy, temperature,
 * order parameter, free energy, dropped frames. Each chart keeps a bounded history (the newest
 * HISTORY points) and redraws at most a few times a second, whatever the metrics rate.
 */
import type { MetricRecord } from '@gibbs/core';
import uPlot from 'uplot';
import { cssColour, groupColour } from './palette.ts';

export const HISTORY = 2000;
const REDRAW_MS = 250;

interface ChartSpec {
  title: string;
  /** The series of one record (name to value); empty when the record has none of them. */
  pick(r: MetricRecord): Record<string, number>;
  /** Colour of a series (by its name and the record's group order). */
  colour?(name: string, groups: string[]): string | undefined;
}

const matchValues =
  (re: RegExp) =>
  (r: MetricRecord): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(r.values)) if (re.test(k)) out[k] = v;
    return out;
  };

const perGroup =
  (...keys: string[]) =>
  (r: MetricRecord): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [g, stats] of Object.entries(r.groups)) {
      for (const k of keys) {
        if (typeof stats[k] === 'number') {
          out[g] = stats[k];
          break;
        }
      }
    }
    return out;
  };

const groupColourOf = (name: string, groups: string[]) => {
  const i = groups.indexOf(name);
  return i >= 0 ? cssColour(groupColour(i)) : undefined;
};

export const CHARTS: readonly ChartSpec[] = [
  { title: 'reward per group', pick: perGroup('reward_mean', 'reward'), colour: groupColourOf },
  { title: 'alive per group', pick: perGroup('alive'), colour: groupColourOf },
  { title: 'entropy (policy, beliefs)', pick: matchValues(/entropy/i) },
  { title: 'temperature', pick: matchValues(/temperature|^beta$/i) },
  { title: 'order parameter', pick: matchValues(/order|magneti[sz]ation/i) },
  { title: 'free energy', pick: matchValues(/free.?energy|^vfe$|^efe$/i) },
  { title: 'dropped frames', pick: matchValues(/^dropped_frames$/) },
];

const FALLBACK = ['#e9c46a', '#2a9d8f', '#f4a261', '#8ecae6', '#b5179e', '#90be6d'];

class Chart {
  private plot: uPlot | null = null;
  private names: string[] = [];
  private readonly xs: number[] = [];
  private ys: number[][] = [];
  private readonly box: HTMLDivElement;

  constructor(
    private readonly spec: ChartSpec,
    parent: HTMLElement,
  ) {
    this.box = document.createElement('div');
    this.box.className = 'chart';
    this.box.dataset.title = spec.title;
    this.box.hidden = true;
    parent.appendChild(this.box);
  }

  push(r: MetricRecord): void {
    const vals = this.spec.pick(r);
    const keys = Object.keys(vals);
    if (keys.length === 0) return;
    for (const k of keys) if (!this.names.includes(k)) this.addSeries(k);
    this.xs.push(r.step);
    this.ys.forEach((col, i) => {
      col.push(vals[this.names[i]] ?? Number.NaN);
    });
    if (this.xs.length > HISTORY * 1.1) {
      const cut = this.xs.length - HISTORY;
      this.xs.splice(0, cut);
      for (const col of this.ys) col.splice(0, cut);
    }
  }

  get length(): number {
    return this.xs.length;
  }

  redraw(width: number, groups: string[]): void {
    if (this.xs.length === 0) return;
    this.box.hidden = false;
    if (!this.plot || this.plot.series.length !== this.names.length + 1) this.build(width, groups);
    this.plot!.setData([this.xs, ...this.ys] as uPlot.AlignedData);
  }

  destroy(): void {
    this.plot?.destroy();
    this.box.remove();
  }

  private addSeries(name: string): void {
    this.names.push(name);
    this.ys.push(this.xs.map(() => Number.NaN));
  }

  private build(width: number, groups: string[]): void {
    this.plot?.destroy();
    this.plot = new uPlot(
      {
        title: this.spec.title,
        width,
        height: 120,
        scales: { x: { time: false } },
        legend: { live: false },
        cursor: { show: false },
        series: [
          { label: 'step' },
          ...this.names.map((n, i) => ({
            label: n,
            stroke: this.spec.colour?.(n, groups) ?? FALLBACK[i % FALLBACK.length],
            width: 1.5,
            points: { show: false },
          })),
        ],
        axes: [
          { stroke: '#889', grid: { stroke: '#222837' } },
          { stroke: '#889', grid: { stroke: '#222837' }, size: 48 },
        ],
      },
      [this.xs, ...this.ys] as uPlot.AlignedData,
      this.box,
    );
  }
}

export class Charts {
  private readonly charts: Chart[];
  private dirty = false;
  private lastDraw = 0;
  private groups: string[] = [];

  constructor(private readonly parent: HTMLElement) {
    this.charts = CHARTS.map((s) => new Chart(s, parent));
  }

  push(records: readonly MetricRecord[]): void {
    for (const r of records) {
      this.groups = Object.keys(r.groups);
      for (const c of this.charts) c.push(r);
    }
    this.dirty = records.length > 0;
  }

  /** Redraw if there is news and the last redraw is old enough (call once per animation frame). */
  maybeRedraw(now = performance.now()): void {
    if (!this.dirty || now - this.lastDraw < REDRAW_MS) return;
    this.dirty = false;
    this.lastDraw = now;
    const width = Math.max(200, this.parent.clientWidth - 4);
    for (const c of this.charts) c.redraw(width, this.groups);
  }

  /** Points held per chart (for the bounded-history check). */
  lengths(): Record<string, number> {
    return Object.fromEntries(this.charts.map((c, i) => [CHARTS[i].title, c.length]));
  }

  destroy(): void {
    for (const c of this.charts) c.destroy();
  }
}
