/**
 * The parameters of an experiment as form controls, generated from its zod schema (through
 * `paramFields`): a slider with a number box for numbers (linear between finite bounds,
 * logarithmic around the default for a positive number without an upper bound), a select for an
 * enum, a checkbox for a boolean, a text box for anything else. Live parameters apply at once
 * (`onLive`); the others apply when the simulation is created anew (reset), and the form says
 * which ones changed since.
 */
import type { ParamField } from './experiments.ts';
import type { LiveParam } from './source.ts';

export type ParamValue = number | boolean | string;

export interface ParamFormOptions {
  /** A live parameter's control changed: apply it to the running simulation. */
  onLive(name: string, value: ParamValue): void;
  /** The non-live parameters (and the seed) that changed since the last reset. */
  onPending?(changed: readonly string[]): void;
}

/** How long a live control ignores the value the simulation reports after the user set it (ms). */
const EDIT_HOLD_MS = 1500;
/** Slider resolution of a logarithmic control. */
const LOG_STEPS = 1000;

interface Control {
  field: ParamField;
  /** The element whose value is the parameter's (number box, select, checkbox, text box). */
  input: HTMLInputElement | HTMLSelectElement;
  slider: HTMLInputElement | null;
  log: { lo: number; hi: number } | null;
  editedAt: number;
}

function sliderRange(f: ParamField): { lo: number; hi: number; log: boolean } | null {
  if (f.kind !== 'number' && f.kind !== 'integer') return null;
  const d = typeof f.default === 'number' ? f.default : undefined;
  if (f.min !== undefined && f.max !== undefined && f.max > f.min)
    return { lo: f.min, hi: f.max, log: false };
  if (f.kind === 'number' && d !== undefined && d > 0 && f.max === undefined) {
    const lo = Math.max(f.min ?? 0, d / 100) || d / 100;
    return { lo, hi: d * 100, log: true };
  }
  if (f.min !== undefined && d !== undefined) {
    const hi = Math.max(f.min + 10, d * 10, d + 10);
    return { lo: f.min, hi, log: false };
  }
  return null;
}

/** Text of a value for a form control. */
function valueText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export class ParamForm {
  private controls: Control[] = [];
  private applied = new Map<string, string>();
  private readonly note: HTMLElement;
  private readonly grid: HTMLElement;

  constructor(
    el: HTMLElement,
    private readonly opts: ParamFormOptions,
    /** Extra inputs that also apply on reset (the seed). */
    private readonly extra: readonly HTMLInputElement[] = [],
  ) {
    this.note = document.createElement('div');
    this.note.className = 'params-note';
    this.grid = document.createElement('div');
    this.grid.className = 'params-grid';
    el.replaceChildren(this.note, this.grid);
    for (const x of extra) x.addEventListener('input', () => this.refreshPending());
  }

  /** Build the controls of `fields`, valued from `initial` (strings) or each default. */
  render(fields: readonly ParamField[], initial: Record<string, string> = {}): void {
    this.controls = [];
    this.grid.replaceChildren();
    for (const f of fields)
      this.controls.push(this.build(f, initial[f.name] ?? valueText(f.default)));
    this.markApplied();
  }

  get fields(): readonly ParamField[] {
    return this.controls.map((c) => c.field);
  }

  /** Values that differ from their defaults, as strings (what the experiment parser takes). */
  values(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const c of this.controls) {
      const v = this.read(c);
      if (v !== '' && v !== valueText(c.field.default)) out[c.field.name] = v;
    }
    return out;
  }

  /** The simulation was created with the form as it is: nothing is pending. */
  markApplied(): void {
    this.applied = new Map(this.controls.map((c) => [c.field.name, this.read(c)]));
    for (const x of this.extra) this.applied.set(x.id, x.value);
    this.refreshPending();
  }

  /** A live parameter's value as the simulation reports it (unless the user is editing it). */
  setLive(p: LiveParam, now = performance.now()): void {
    const c = this.controls.find((x) => x.field.name === p.name && x.field.live);
    if (!c || now - c.editedAt < EDIT_HOLD_MS) return;
    if (c.input === document.activeElement || c.slider === document.activeElement) return;
    this.write(c, p.value);
  }

  /** Multiply the first numeric live parameter by `factor` (keys [ and ]); false if none. */
  nudge(factor: number): boolean {
    const c = this.controls.find(
      (x) => x.field.live && (x.field.kind === 'number' || x.field.kind === 'integer'),
    );
    if (!c) return false;
    const v = Number(this.read(c));
    let next = Number((v === 0 ? 0.1 * factor : v * factor).toPrecision(6));
    if (c.field.kind === 'integer')
      next = Math.round(next) === v ? v + Math.sign(factor - 1) : Math.round(next);
    if (c.field.min !== undefined) next = Math.max(c.field.min, next);
    if (c.field.max !== undefined) next = Math.min(c.field.max, next);
    this.write(c, next);
    this.applyLive(c);
    return true;
  }

  private refreshPending(): void {
    const changed: string[] = [];
    for (const c of this.controls) {
      if (!c.field.live && this.applied.get(c.field.name) !== this.read(c))
        changed.push(c.field.name);
    }
    for (const x of this.extra) if (this.applied.get(x.id) !== x.value) changed.push(x.id);
    const hasLive = this.controls.some((c) => c.field.live);
    this.note.textContent =
      changed.length > 0
        ? `changed: ${changed.join(', ')}. These apply on reset (r).`
        : this.controls.length === 0
          ? 'this experiment has no parameters'
          : hasLive
            ? 'Parameters marked live apply at once; the others apply on reset (r).'
            : 'These parameters apply on reset (r).';
    this.note.classList.toggle('pending', changed.length > 0);
    this.opts.onPending?.(changed);
  }

  private read(c: Control): string {
    if (c.input instanceof HTMLInputElement && c.input.type === 'checkbox')
      return String(c.input.checked);
    return c.input.value;
  }

  private write(c: Control, v: ParamValue): void {
    if (c.input instanceof HTMLInputElement && c.input.type === 'checkbox') {
      c.input.checked = v === true;
      return;
    }
    if (c.input.value !== String(v)) c.input.value = String(v);
    this.syncSlider(c);
  }

  private syncSlider(c: Control): void {
    if (!c.slider) return;
    const v = Number(c.input.value);
    if (!Number.isFinite(v)) return;
    if (c.log) {
      const t = Math.log(Math.max(v, c.log.lo) / c.log.lo) / Math.log(c.log.hi / c.log.lo);
      c.slider.value = String(Math.round(Math.max(0, Math.min(1, t)) * LOG_STEPS));
    } else c.slider.value = String(v);
  }

  private applyLive(c: Control): void {
    c.editedAt = performance.now();
    const raw = this.read(c);
    const f = c.field;
    const v: ParamValue =
      f.kind === 'boolean'
        ? raw === 'true'
        : f.kind === 'number' || f.kind === 'integer'
          ? Number(raw)
          : raw;
    if (typeof v === 'number' && !Number.isFinite(v)) return;
    this.opts.onLive(f.name, v);
  }

  private build(f: ParamField, value: string): Control {
    const row = document.createElement('label');
    row.className = 'param';
    row.title = f.description || f.name;
    row.dataset.param = f.name;
    const name = document.createElement('span');
    name.className = 'param-name';
    name.textContent = f.name;
    row.append(name);
    if (f.live) {
      const badge = document.createElement('span');
      badge.className = 'live-badge';
      badge.textContent = 'live';
      row.append(badge);
    }
    let input: HTMLInputElement | HTMLSelectElement;
    let slider: HTMLInputElement | null = null;
    let log: Control['log'] = null;
    if (f.kind === 'enum') {
      input = document.createElement('select');
      for (const o of f.options ?? [])
        input.append(Object.assign(document.createElement('option'), { value: o, textContent: o }));
      input.value = value;
    } else if (f.kind === 'boolean') {
      input = Object.assign(document.createElement('input'), { type: 'checkbox' });
      input.checked = value === 'true';
    } else if (f.kind === 'number' || f.kind === 'integer') {
      input = Object.assign(document.createElement('input'), { type: 'number' });
      input.step = f.kind === 'integer' ? '1' : 'any';
      if (f.min !== undefined) input.min = String(f.min);
      if (f.max !== undefined) input.max = String(f.max);
      input.value = value;
      const range = sliderRange(f);
      if (range) {
        slider = Object.assign(document.createElement('input'), { type: 'range' });
        slider.className = 'param-slider';
        slider.tabIndex = -1;
        if (range.log) {
          log = { lo: range.lo, hi: range.hi };
          slider.min = '0';
          slider.max = String(LOG_STEPS);
          slider.step = '1';
        } else {
          slider.min = String(range.lo);
          slider.max = String(range.hi);
          slider.step =
            f.kind === 'integer'
              ? String(Math.max(1, Math.round((range.hi - range.lo) / 1000)))
              : 'any';
        }
      }
    } else {
      input = Object.assign(document.createElement('input'), { type: 'text' });
      input.value = value;
    }
    input.name = f.name;
    input.classList.add('param-input');
    if (input instanceof HTMLInputElement && f.default === undefined) input.placeholder = 'default';
    if (f.live) input.dataset.live = f.name;
    const c: Control = { field: f, input, slider, log, editedAt: 0 };
    if (slider) {
      row.append(slider);
      this.syncSlider(c);
      const s = slider;
      s.addEventListener('input', () => {
        const t = Number(s.value);
        let v = log ? log.lo * (log.hi / log.lo) ** (t / LOG_STEPS) : t;
        v = f.kind === 'integer' ? Math.round(v) : Number(v.toPrecision(4));
        input.value = String(v);
        this.refreshPending();
        if (f.live) this.applyLive(c);
      });
    }
    row.append(input);
    input.addEventListener('input', () => {
      if (f.live) c.editedAt = performance.now();
      this.syncSlider(c);
      this.refreshPending();
    });
    input.addEventListener('change', () => {
      this.syncSlider(c);
      this.refreshPending();
      if (f.live) this.applyLive(c);
    });
    this.grid.append(row);
    return c;
  }
}
