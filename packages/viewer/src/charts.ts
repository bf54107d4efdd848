/**
 * Time series of the run (uPlot). Every numeric metric the run logs can be charted: run-wide
 * values, per-group statistics (one series per group) and episode summaries. Panels are chosen by
 * default from the names (reward, alive, kills, entropy, temperature, order, energy against
 * Onsager's, free energy, the parts of the expected free energy, losses...), and a picker adds a
 * panel for any other metric. The whole history is kept, downsampled (min/max per bucket,
 * history.ts). Smoothing (an EMA), the x axis by step or episode, a replay cursor, and the data of
 * each panel as CSV and its picture as PNG. Charts redraw at most a few times a second, on their
 * own loop: they do not depend on the renderer's.
 */
import type { EpisodeSummary, MetricRecord } from '@gibbs/core';
import uPlot from 'uplot';
import { withDerived } from './derived.ts';
import { History, type XAxis } from './history.ts';
import { cssColour, groupColour } from './palette.ts';

const REDRAW_MS = 250;
const HEIGHT = 130;

/** A metric the picker offers: run-wide (v:), per group (g:), per episode (e:, eg:). */
export interface MetricInfo {
  id: string;
  label: string;
  kind: 'value' | 'group' | 'episode' | 'episode-group';
}

interface PanelRule {
  title: string;
  /** Does this panel show the metric (by id, e.g. "v:energy", "g:alive")? */
  match(id: string): boolean;
}

const v = (re: RegExp) => (id: string) => id.startsWith('v:') && re.test(id.slice(2));
const g = (re: RegExp) => (id: string) => id.startsWith('g:') && re.test(id.slice(2));

/** Default panels, in order; a metric goes to the first that matches. */
export const DEFAULT_PANELS: readonly PanelRule[] = [
  { title: 'reward per group', match: g(/^reward(_mean)?$/) },
  { title: 'alive per group', match: g(/^alive$/) },
  { title: 'kills per group', match: g(/^kills$/) },
  { title: 'energy vs Onsager', match: v(/^(energy|exact_energy)$/) },
  { title: 'free energy', match: v(/free.?energy|^vfe$|^efe$|^F$/i) },
  { title: 'EFE parts', match: v(/^efe_/i) },
  { title: 'entropy (policy, beliefs)', match: v(/entropy/i) },
  { title: 'temperature', match: v(/temperature|^beta$/i) },
  { title: 'order parameter', match: v(/order|magneti[sz]ation/i) },
  { title: 'loss', match: v(/loss|q_mse|td_error/i) },
  { title: 'effective sample size', match: v(/ess|effective/i) },
  { title: 'win rate', match: v(/win/i) },
  { title: 'dropped frames', match: v(/^dropped_frames$/) },
];

const FALLBACK = ['#e9c46a', '#2a9d8f', '#f4a261', '#8ecae6', '#b5179e', '#90be6d', '#ff8fa3'];

/** Tick labels that fit: 100000 is "100k", 0.000123 is "1.23e-4". */
export function formatTick(x: number): string {
  if (!Number.isFinite(x)) return '';
  const a = Math.abs(x);
  if (a === 0) return '0';
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  if (a >= 1e4) {
    for (const [u, s] of units) {
      if (a >= u) return `${Number((x / u).toPrecision(3))}${s}`;
    }
  }
  if (a < 1e-3) return x.toExponential(1).replace('e', 'e');
  return String(Number(x.toPrecision(4)));
}

/** Width in CSS pixels of the widest of some tick labels, plus the tick and a margin. */
function axisSize(u: uPlot, values: string[] | null): number {
  if (!values || values.length === 0) return 40;
  const ctx = u.ctx;
  ctx.save();
  ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
  let w = 0;
  for (const s of values) w = Math.max(w, ctx.measureText(s).width);
  ctx.restore();
  return Math.ceil(w / devicePixelRatio) + 16;
}

interface SeriesRef {
  /** Id in the history (v:x, g:key:group, e:x, eg:key:group). */
  id: string;
  label: string;
  colour: string;
  dash?: number[];
}

class Panel {
  private plot: uPlot | null = null;
  private shape = '';
  readonly box: HTMLDivElement;
  private readonly body: HTMLDivElement;
  series: SeriesRef[] = [];

  constructor(
    readonly title: string,
    /** Metric ids (v:, g:, e:, eg:) this panel shows. */
    readonly metrics: string[],
    parent: HTMLElement,
    private readonly owner: Charts,
    readonly removable: boolean,
  ) {
    this.box = document.createElement('div');
    this.box.className = 'chart';
    this.box.dataset.title = title;
    const head = document.createElement('div');
    head.className = 'chart-head';
    const name = document.createElement('span');
    name.className = 'chart-title';
    name.textContent = title;
    const csv = Object.assign(document.createElement('button'), {
      type: 'button',
      textContent: 'CSV',
      title: 'download the data of this chart (CSV)',
    });
    csv.className = 'chart-csv';
    csv.addEventListener('click', () => owner.downloadCsv(this));
    const png = Object.assign(document.createElement('button'), {
      type: 'button',
      textContent: 'PNG',
      title: 'download this chart (PNG)',
    });
    png.className = 'chart-png';
    png.addEventListener('click', () => this.downloadPng());
    const close = Object.assign(document.createElement('button'), {
      type: 'button',
      textContent: '×',
      title: 'remove this chart (the picker adds it back)',
    });
    close.className = 'chart-close';
    close.addEventListener('click', () => owner.remove(this));
    head.append(name, csv, png, close);
    this.body = document.createElement('div');
    this.box.append(head, this.body);
    parent.appendChild(this.box);
  }

  get episodic(): boolean {
    return this.metrics.every((m) => m.startsWith('e'));
  }

  redraw(width: number, data: uPlot.AlignedData, series: SeriesRef[], smoothing: boolean): void {
    this.series = series;
    const shape = `${width}|${smoothing}|${series.map((s) => `${s.id}=${s.colour}`).join(',')}|${this.owner.xAxis}`;
    if (!this.plot || shape !== this.shape) this.build(width, data, series, smoothing, shape);
    else this.plot.setData(data);
  }

  /** Draw again without new data (the replay cursor moved). */
  refresh(): void {
    this.plot?.redraw(false, false);
  }

  private build(
    width: number,
    data: uPlot.AlignedData,
    series: SeriesRef[],
    smoothing: boolean,
    shape: string,
  ): void {
    this.plot?.destroy();
    this.shape = shape;
    const owner = this.owner;
    const lines: uPlot.Series[] = [];
    for (const s of series) {
      if (smoothing) {
        lines.push({
          label: `${s.label} (raw)`,
          stroke: `${s.colour}55`,
          width: 1,
          points: { show: false },
          dash: s.dash,
        });
      }
      lines.push({
        label: s.label,
        stroke: s.colour,
        width: smoothing ? 2 : 1.5,
        points: { show: false },
        dash: s.dash,
      });
    }
    const axis = (): uPlot.Axis => ({
      stroke: '#889',
      grid: { stroke: '#222837' },
      ticks: { stroke: '#222837' },
      font: '11px system-ui, sans-serif',
      values: (_u, splits) => splits.map(formatTick),
      size: (u, values) => axisSize(u, values),
    });
    this.plot = new uPlot(
      {
        width,
        height: HEIGHT,
        scales: { x: { time: false } },
        legend: { live: false },
        cursor: { show: false },
        series: [{ label: owner.xAxis }, ...lines],
        axes: [{ ...axis(), size: 28 }, axis()],
        hooks: {
          draw: [
            (u) => {
              const at = owner.cursorAt(this);
              if (at === null) return;
              const x = u.valToPos(at, 'x', true);
              if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) return;
              const ctx = u.ctx;
              ctx.save();
              ctx.strokeStyle = '#ffd43b';
              ctx.lineWidth = 1.5 * devicePixelRatio;
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.restore();
            },
          ],
        },
      },
      data,
      this.body,
    );
  }

  /** The chart as a PNG (its canvas: lines, axes, cursor). */
  canvas(): HTMLCanvasElement | null {
    return this.plot?.ctx.canvas ?? null;
  }

  private downloadPng(): void {
    const c = this.canvas();
    if (!c) return;
    c.toBlob((blob) => {
      if (blob) download(blob, `${fileName(this.title)}.png`);
    }, 'image/png');
  }

  destroy(): void {
    this.plot?.destroy();
    this.box.remove();
  }
}

function fileName(title: string): string {
  return title.replace(/[^a-z0-9_]+/gi, '-').replace(/^-|-$/g, '') || 'chart';
}

function download(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** What a panel holds, for the tests and the console. */
export interface PanelInfo {
  title: string;
  metrics: string[];
  series: { id: string; label: string; colour: string }[];
  /** Buckets held, records per bucket, first and last step held. */
  buckets: number;
  span: number;
  first: number;
  last: number;
}

/** What the user chose, carried over to the charts of the next run (a reset, another source). */
export interface ChartPrefs {
  /** Metrics added from the picker. */
  added: string[];
  /** Default panels removed. */
  dismissed: string[];
  xAxis: XAxis;
  smoothing: number;
}

export class Charts {
  private readonly steps = new History();
  private readonly episodes = new History();
  private readonly panels: Panel[] = [];
  /** Metrics seen, by id. */
  private readonly known = new Map<string, MetricInfo>();
  /** Default panels the user removed: not added again. */
  private readonly dismissed = new Set<string>();
  private dirty = false;
  private lastDraw = 0;
  /** Group names in the frame's order (colours follow it), else the records' order. */
  private groups: string[] = [];
  private framesGroups = false;
  private cursor: { step: number; episode: number } | null = null;
  private readonly bar: HTMLElement;
  private readonly list: HTMLElement;
  private readonly picker: HTMLSelectElement;
  private readonly xSelect: HTMLSelectElement;
  private readonly smoothInput: HTMLInputElement;
  private readonly smoothLabel: HTMLElement;
  xAxis: XAxis = 'step';
  smoothing = 0;

  /** Metrics added from the picker (kept for the next run's charts). */
  private readonly added = new Set<string>();

  constructor(
    private readonly parent: HTMLElement,
    prefs?: ChartPrefs,
  ) {
    if (prefs) {
      for (const id of prefs.added) this.added.add(id);
      for (const t of prefs.dismissed) this.dismissed.add(t);
      this.xAxis = prefs.xAxis;
      this.smoothing = prefs.smoothing;
    }
    this.bar = document.createElement('div');
    this.bar.className = 'charts-bar';
    this.picker = document.createElement('select');
    this.picker.className = 'chart-pick';
    this.picker.title = 'add a chart of any metric the run logs';
    this.picker.addEventListener('change', () => {
      const id = this.picker.value;
      if (id) this.add(id);
      this.picker.value = '';
    });
    this.xSelect = document.createElement('select');
    this.xSelect.className = 'chart-x';
    this.xSelect.title = 'x axis';
    for (const x of ['step', 'episode'])
      this.xSelect.append(
        Object.assign(document.createElement('option'), { value: x, textContent: `x: ${x}` }),
      );
    this.xSelect.addEventListener('change', () => {
      this.xAxis = this.xSelect.value === 'episode' ? 'episode' : 'step';
      this.touch();
    });
    const smooth = document.createElement('label');
    smooth.className = 'chart-smooth';
    smooth.title = 'smoothing: exponential moving average weight per step';
    this.smoothInput = Object.assign(document.createElement('input'), {
      type: 'range',
      min: '0',
      max: '0.999',
      step: '0.001',
      value: '0',
    });
    this.smoothLabel = document.createElement('span');
    this.smoothInput.addEventListener('input', () => {
      this.smoothing = Number(this.smoothInput.value);
      this.touch();
    });
    smooth.append('smooth ', this.smoothInput, this.smoothLabel);
    this.bar.append(this.picker, this.xSelect, smooth);
    this.list = document.createElement('div');
    this.list.className = 'charts-list';
    parent.replaceChildren(this.bar, this.list);
    this.xSelect.value = this.xAxis;
    this.smoothInput.value = String(this.smoothing);
    this.refreshPicker();
    this.showSmoothing();
  }

  /** The user's choices, for the charts of the next run. */
  prefs(): ChartPrefs {
    return {
      added: [...this.added],
      dismissed: [...this.dismissed],
      xAxis: this.xAxis,
      smoothing: this.smoothing,
    };
  }

  /** The frame's group order: per-group series take their group's map colour. */
  setGroups(groups: readonly string[]): void {
    if (this.framesGroups && groups.join('\u0000') === this.groups.join('\u0000')) return;
    this.groups = [...groups];
    this.framesGroups = true;
    this.touch();
  }

  push(records: readonly MetricRecord[]): void {
    for (const raw of records) {
      const r = withDerived(raw);
      const values: Record<string, number> = {};
      for (const [k, x] of Object.entries(r.values)) {
        if (typeof x !== 'number') continue;
        values[`v:${k}`] = x;
        this.learn(`v:${k}`, k, 'value');
      }
      for (const [grp, stats] of Object.entries(r.groups)) {
        if (!this.framesGroups && !this.groups.includes(grp)) this.groups.push(grp);
        for (const [k, x] of Object.entries(stats)) {
          if (typeof x !== 'number') continue;
          values[`g:${k}:${grp}`] = x;
          this.learn(`g:${k}`, `${k} per group`, 'group');
        }
      }
      this.steps.push(r.step, r.episode, values);
    }
    if (records.length > 0) this.touch();
  }

  pushEpisodes(summaries: readonly EpisodeSummary[]): void {
    for (const e of summaries) {
      const values: Record<string, number> = { 'e:length': e.length };
      this.learn('e:length', 'episode length', 'episode');
      for (const [k, x] of Object.entries(e.values)) {
        if (typeof x !== 'number') continue;
        values[`e:${k}`] = x;
        this.learn(`e:${k}`, `episode ${k}`, 'episode');
      }
      for (const [grp, stats] of Object.entries(e.groups)) {
        for (const [k, x] of Object.entries(stats)) {
          if (typeof x !== 'number') continue;
          values[`eg:${k}:${grp}`] = x;
          this.learn(`eg:${k}`, `episode ${k} per group`, 'episode-group');
        }
      }
      this.episodes.push(e.step, e.episode, values);
    }
    if (summaries.length > 0) this.touch();
  }

  /** Replay cursor: the step (and episode) shown, or null for none. */
  setCursor(at: { step: number; episode: number } | null): void {
    if (at?.step === this.cursor?.step && at?.episode === this.cursor?.episode) return;
    this.cursor = at;
    for (const p of this.panels) p.refresh();
  }

  /** Where the cursor sits on a panel's x axis (null: no cursor). */
  cursorAt(_p: Panel): number | null {
    if (!this.cursor) return null;
    return this.xAxis === 'step' ? this.cursor.step : this.cursor.episode;
  }

  /** Add a panel for one metric (from the picker). */
  add(id: string): void {
    const info = this.known.get(id);
    if (!info) return;
    const existing = this.panels.find((p) => p.metrics.length === 1 && p.metrics[0] === id);
    if (existing) return;
    this.added.add(id);
    this.panels.push(new Panel(info.label, [id], this.list, this, true));
    this.refreshPicker();
    this.touch();
    this.lastDraw = 0;
  }

  remove(p: Panel): void {
    const i = this.panels.indexOf(p);
    if (i < 0) return;
    this.panels.splice(i, 1);
    p.destroy();
    for (const m of p.metrics) this.added.delete(m);
    if (DEFAULT_PANELS.some((r) => r.title === p.title)) this.dismissed.add(p.title);
    this.refreshPicker();
  }

  /** Redraw if there is news and the last redraw is old enough (call once per animation frame). */
  maybeRedraw(now = performance.now()): void {
    if (!this.dirty || now - this.lastDraw < REDRAW_MS) return;
    this.dirty = false;
    this.lastDraw = now;
    const width = Math.max(200, this.list.clientWidth - 4);
    for (const p of this.panels) {
      const { data, series } = this.dataOf(p);
      p.redraw(width, data, series, this.smoothing > 0);
    }
  }

  /** The CSV of a panel's data, whole history (one row per bucket). */
  csvOf(title: string): string | null {
    const p = this.panels.find((x) => x.title === title);
    if (!p) return null;
    const series = this.seriesOf(p);
    const store = p.episodic ? this.episodes : this.steps;
    return store.csv(
      series.map((s) => s.id),
      series.map((s) => s.label),
    );
  }

  downloadCsv(p: Panel): void {
    const text = this.csvOf(p.title);
    if (text !== null) download(new Blob([text], { type: 'text/csv' }), `${fileName(p.title)}.csv`);
  }

  /** What each panel holds (for the tests and the console). */
  info(): PanelInfo[] {
    return this.panels.map((p) => {
      const store = p.episodic ? this.episodes : this.steps;
      const [first, last] = store.range;
      return {
        title: p.title,
        metrics: [...p.metrics],
        series: this.seriesOf(p).map(({ id, label, colour }) => ({ id, label, colour })),
        buckets: store.length,
        span: store.span,
        first,
        last,
      };
    });
  }

  /** Metrics the picker offers (every one seen). */
  metrics(): MetricInfo[] {
    return [...this.known.values()];
  }

  /** Points held per panel (buckets of the history it draws from). */
  lengths(): Record<string, number> {
    return Object.fromEntries(this.info().map((p) => [p.title, p.buckets]));
  }

  destroy(): void {
    for (const p of this.panels) p.destroy();
    this.parent.replaceChildren();
  }

  private touch(): void {
    this.dirty = true;
    this.showSmoothing();
  }

  private showSmoothing(): void {
    this.smoothLabel.textContent = this.smoothing > 0 ? this.smoothing.toFixed(3) : 'off';
  }

  /** A metric seen for the first time: a default panel takes it, or the picker offers it. */
  private learn(id: string, label: string, kind: MetricInfo['kind']): void {
    if (this.known.has(id)) return;
    this.known.set(id, { id, label, kind });
    const rule = DEFAULT_PANELS.find((r) => r.match(id));
    if (rule && !this.dismissed.has(rule.title)) {
      const p = this.panels.find((x) => x.title === rule.title);
      if (p) p.metrics.push(id);
      else {
        // Default panels keep the rules' order.
        const order = (t: string) => DEFAULT_PANELS.findIndex((r) => r.title === t);
        const panel = new Panel(rule.title, [id], this.list, this, true);
        const at = this.panels.findIndex(
          (x) => order(x.title) < 0 || order(x.title) > order(rule.title),
        );
        if (at >= 0) {
          this.list.insertBefore(panel.box, this.panels[at].box);
          this.panels.splice(at, 0, panel);
        } else this.panels.push(panel);
      }
    } else if (this.added.has(id)) {
      this.refreshPicker();
      this.add(id);
      return;
    }
    this.refreshPicker();
  }

  private refreshPicker(): void {
    const shown = new Set(this.panels.flatMap((p) => p.metrics));
    const rest = [...this.known.values()].filter((m) => !shown.has(m.id));
    const groups: [MetricInfo['kind'], string][] = [
      ['value', 'run-wide'],
      ['group', 'per group'],
      ['episode', 'per episode'],
      ['episode-group', 'per episode and group'],
    ];
    const head = Object.assign(document.createElement('option'), {
      value: '',
      textContent:
        rest.length > 0
          ? `add a chart… (${rest.length} more metric${rest.length > 1 ? 's' : ''})`
          : 'add a chart… (every metric is shown)',
    });
    const opts: HTMLElement[] = [head];
    for (const [kind, name] of groups) {
      const ms = rest.filter((m) => m.kind === kind);
      if (ms.length === 0) continue;
      const og = document.createElement('optgroup');
      og.label = name;
      for (const m of ms)
        og.append(
          Object.assign(document.createElement('option'), { value: m.id, textContent: m.label }),
        );
      opts.push(og);
    }
    this.picker.replaceChildren(...opts);
    this.picker.value = '';
  }

  private colourOfGroup(name: string): string | undefined {
    const i = this.groups.indexOf(name);
    return i >= 0 ? cssColour(groupColour(i)) : undefined;
  }

  /** The series a panel draws: a metric per group expands to one series per group. */
  private seriesOf(p: Panel): SeriesRef[] {
    const out: SeriesRef[] = [];
    const store = p.episodic ? this.episodes : this.steps;
    const single = p.metrics.length === 1;
    let k = 0;
    p.metrics.forEach((m, mi) => {
      const [prefix, ...rest] = m.split(':');
      const name = rest.join(':');
      if (prefix === 'v' || prefix === 'e') {
        out.push({
          id: m,
          label: prefix === 'e' ? `episode ${name}` : name,
          colour: FALLBACK[k++ % FALLBACK.length],
          dash: name.startsWith('exact_') ? [5, 4] : undefined,
        });
        return;
      }
      const names = [...this.groups];
      for (const id of store.ids) {
        const grp = id.startsWith(`${m}:`) ? id.slice(m.length + 1) : null;
        if (grp !== null && !names.includes(grp)) names.push(grp);
      }
      for (const grp of names) {
        const id = `${m}:${grp}`;
        if (!store.has(id)) continue;
        out.push({
          id,
          label: single ? grp : `${grp} ${name}`,
          colour: this.colourOfGroup(grp) ?? FALLBACK[k % FALLBACK.length],
          dash: mi > 0 ? [4, 3] : undefined,
        });
        k++;
      }
    });
    return out;
  }

  private dataOf(p: Panel): { data: uPlot.AlignedData; series: SeriesRef[] } {
    const series = this.seriesOf(p);
    const store = p.episodic ? this.episodes : this.steps;
    const ids = series.map((s) => s.id);
    const raw = store.data(ids, this.xAxis);
    const cols: number[][] = [];
    if (this.smoothing > 0) {
      const smooth = store.data(ids, this.xAxis, this.smoothing);
      // Raw (faint) and smoothed, per series, the order the panel's series list them.
      raw.ys.forEach((ys, k) => {
        cols.push(ys, smooth.ys[k]);
      });
    } else cols.push(...raw.ys);
    return { data: [raw.x, ...cols] as uPlot.AlignedData, series };
  }
}
