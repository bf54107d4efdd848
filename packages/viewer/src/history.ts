/**
 * The whole history of a run's metrics in bounded memory: records go into buckets of `span`
 * consecutive records; when `cap` buckets are full, neighbours merge in pairs and the span doubles.
 * Each bucket keeps, per series, the minimum and the maximum (and which came first), the mean and
 * the last value: drawn as two points a bucket (min/max per bucket), a spike never disappears, however
 * long the run. Pure data, no DOM: the charts draw from it, the CSV export reads it.
 */

/** Buckets kept before neighbours merge (even). */
export const HISTORY_BUCKETS = 2048;

export interface SeriesStats {
  min: number[];
  max: number[];
  /** The minimum came before the maximum in its bucket. */
  minFirst: boolean[];
  sum: number[];
  count: number[];
  last: number[];
}

function emptyStats(len: number): SeriesStats {
  return {
    min: new Array(len).fill(Number.NaN),
    max: new Array(len).fill(Number.NaN),
    minFirst: new Array(len).fill(true),
    sum: new Array(len).fill(0),
    count: new Array(len).fill(0),
    last: new Array(len).fill(Number.NaN),
  };
}

/** The x of a point: the run's step or its episode. */
export type XAxis = 'step' | 'episode';

export interface SeriesData {
  x: number[];
  /** One array per series asked for (NaN where a series has no value). */
  ys: number[][];
}

export class History {
  /** Records per complete bucket. */
  span = 1;
  private readonly x0: number[] = [];
  private readonly x1: number[] = [];
  private readonly e0: number[] = [];
  private readonly e1: number[] = [];
  /** Records in each bucket (span for all but the last, open one). */
  private readonly n: number[] = [];
  private readonly series = new Map<string, SeriesStats>();
  /** Series ids in the order they first appeared. */
  readonly ids: string[] = [];
  /** Records pushed in all. */
  total = 0;

  constructor(readonly cap = HISTORY_BUCKETS) {
    if (cap < 2 || cap % 2 !== 0) throw new Error(`History: cap must be even and >= 2 (${cap})`);
  }

  get length(): number {
    return this.n.length;
  }

  /** First and last step held (NaN when empty). */
  get range(): [number, number] {
    return this.n.length === 0
      ? [Number.NaN, Number.NaN]
      : [this.x0[0], this.x1[this.x1.length - 1]];
  }

  has(id: string): boolean {
    return this.series.has(id);
  }

  /** Add one record: its step, episode and values by series id (non-finite values are skipped). */
  push(step: number, episode: number, values: Record<string, number>): void {
    this.total++;
    let b = this.n.length - 1;
    if (b < 0 || this.n[b] >= this.span) {
      if (this.n.length >= this.cap) this.merge();
      b = this.n.length;
      this.x0.push(step);
      this.x1.push(step);
      this.e0.push(episode);
      this.e1.push(episode);
      this.n.push(0);
      for (const s of this.series.values()) {
        s.min.push(Number.NaN);
        s.max.push(Number.NaN);
        s.minFirst.push(true);
        s.sum.push(0);
        s.count.push(0);
        s.last.push(Number.NaN);
      }
    }
    this.x1[b] = step;
    this.e1[b] = episode;
    this.n[b]++;
    for (const id in values) {
      const v = values[id];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      let s = this.series.get(id);
      if (!s) {
        s = emptyStats(this.n.length);
        this.series.set(id, s);
        this.ids.push(id);
      }
      if (s.count[b] === 0) {
        s.min[b] = v;
        s.max[b] = v;
      } else if (v < s.min[b]) {
        s.min[b] = v;
        s.minFirst[b] = false;
      } else if (v > s.max[b]) {
        s.max[b] = v;
        s.minFirst[b] = true;
      }
      s.sum[b] += v;
      s.count[b]++;
      s.last[b] = v;
    }
  }

  /** Merge neighbouring buckets in pairs: half as many, twice the span. */
  private merge(): void {
    const half = this.n.length >> 1;
    for (let i = 0; i < half; i++) {
      const a = 2 * i;
      const b = a + 1;
      this.x0[i] = this.x0[a];
      this.x1[i] = this.x1[b];
      this.e0[i] = this.e0[a];
      this.e1[i] = this.e1[b];
      this.n[i] = this.n[a] + this.n[b];
      for (const s of this.series.values()) {
        const ca = s.count[a];
        const cb = s.count[b];
        if (ca === 0 || cb === 0) {
          const k = ca === 0 ? b : a;
          s.min[i] = s.min[k];
          s.max[i] = s.max[k];
          s.minFirst[i] = s.minFirst[k];
        } else {
          const minFromA = s.min[a] <= s.min[b];
          const maxFromA = s.max[a] >= s.max[b];
          s.minFirst[i] =
            minFromA && !maxFromA
              ? true
              : !minFromA && maxFromA
                ? false
                : minFromA
                  ? s.minFirst[a]
                  : s.minFirst[b];
          s.min[i] = Math.min(s.min[a], s.min[b]);
          s.max[i] = Math.max(s.max[a], s.max[b]);
        }
        s.sum[i] = s.sum[a] + s.sum[b];
        s.count[i] = ca + cb;
        s.last[i] = cb > 0 ? s.last[b] : s.last[a];
      }
    }
    const cut = (arr: unknown[]) => {
      arr.length = half;
    };
    for (const arr of [this.x0, this.x1, this.e0, this.e1, this.n]) cut(arr);
    for (const s of this.series.values())
      for (const arr of [s.min, s.max, s.minFirst, s.sum, s.count, s.last]) cut(arr);
    this.span *= 2;
  }

  /**
   * Points to draw for some series: one per bucket while every bucket holds one record, else two
   * (the bucket's min and max, in the order they came, at its first and last step). With
   * `smoothing` w in (0, 1), the series are exponential moving averages of the bucket means
   * (weight w per record: w^records per bucket).
   */
  data(ids: readonly string[], x: XAxis = 'step', smoothing = 0): SeriesData {
    const nb = this.n.length;
    const two = this.span > 1;
    const xs: number[] = [];
    const ys: number[][] = ids.map(() => []);
    const lo = x === 'step' ? this.x0 : this.e0;
    const hi = x === 'step' ? this.x1 : this.e1;
    const ema = ids.map(() => Number.NaN);
    for (let b = 0; b < nb; b++) {
      const pair = two && this.n[b] > 1;
      xs.push(lo[b]);
      if (pair) xs.push(hi[b]);
      ids.forEach((id, k) => {
        const s = this.series.get(id);
        const out = ys[k];
        if (!s || s.count[b] === 0) {
          out.push(Number.NaN);
          if (pair) out.push(Number.NaN);
          return;
        }
        if (smoothing > 0) {
          const mean = s.sum[b] / s.count[b];
          const w = smoothing ** s.count[b];
          ema[k] = Number.isNaN(ema[k]) ? mean : w * ema[k] + (1 - w) * mean;
          out.push(ema[k]);
          if (pair) out.push(ema[k]);
        } else if (!pair) out.push(two ? s.min[b] : s.last[b]);
        else {
          out.push(s.minFirst[b] ? s.min[b] : s.max[b]);
          out.push(s.minFirst[b] ? s.max[b] : s.min[b]);
        }
      });
    }
    return { x: xs, ys };
  }

  /** CSV of some series: one row per bucket (first and last step and episode; mean, min, max). */
  csv(ids: readonly string[], labels: readonly string[] = ids): string {
    const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const head = ['step_first', 'step_last', 'episode_first', 'episode_last', 'records'];
    for (const l of labels) head.push(q(`${l} mean`), q(`${l} min`), q(`${l} max`));
    const rows = [head.join(',')];
    for (let b = 0; b < this.n.length; b++) {
      const row: (number | string)[] = [this.x0[b], this.x1[b], this.e0[b], this.e1[b], this.n[b]];
      for (const id of ids) {
        const s = this.series.get(id);
        if (!s || s.count[b] === 0) row.push('', '', '');
        else row.push(s.sum[b] / s.count[b], s.min[b], s.max[b]);
      }
      rows.push(row.join(','));
    }
    return `${rows.join('\n')}\n`;
  }
}
