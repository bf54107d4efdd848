/**
 * The inspector panel: the agents under the cursor (a list when several share the cell), and for
 * the chosen one what the simulation says about it (Simulation.inspect), or, for an experiment
 * without `inspect`, what the frame holds: named values and distributions (policy, mean action,
 * beliefs, expected free energy parts...) as bars signed around zero. A distribution longer than
 * SHOWN_ENTRIES is sorted, the top ones shown and the rest on demand. hp reads on one scale
 * everywhere, the frame's (a share of the most an agent can have, as a percentage); actions by
 * name where the experiment names them.
 */
import type { AgentInspection, RenderFrame } from '@gibbs/core';
import { cssColour, groupColour } from './palette.ts';

/** Entries of a distribution shown before "show all". */
export const SHOWN_ENTRIES = 10;

/** Indices into `frame.agents` of the live agents in cell (cx, cy). */
export function agentsAt(frame: RenderFrame, cx: number, cy: number): number[] {
  const a = frame.agents;
  const out: number[] = [];
  for (let i = 0; i < a.count; i++) {
    if (Math.floor(a.x[i]) === cx && Math.floor(a.y[i]) === cy) out.push(i);
  }
  return out;
}

/** Index into `frame.agents` of one agent, or -1. */
export function agentIndex(frame: RenderFrame | null, group: number, slot: number): number {
  if (!frame) return -1;
  const a = frame.agents;
  for (let i = 0; i < a.count; i++) if (a.group[i] === group && a.slot[i] === slot) return i;
  return -1;
}

/** What a frame alone says about an agent (for sources that cannot ask the simulation). */
export function inspectFromFrame(
  f: RenderFrame | null,
  group: number,
  slot: number,
): AgentInspection | null {
  const i = agentIndex(f, group, slot);
  if (!f || i < 0) return null;
  const a = f.agents;
  return {
    group: f.groups[group] ?? String(group),
    slot,
    values: { x: a.x[i], y: a.y[i], hp: a.hp[i], action: a.action[i], reward: a.reward[i] },
    distributions: {},
  };
}

export interface AgentRef {
  group: number;
  slot: number;
}

const fmt = (v: number): string =>
  Number.isInteger(v)
    ? String(v)
    : Math.abs(v) >= 1000 || Math.abs(v) < 0.001
      ? v.toExponential(2)
      : v.toFixed(4);

/** hp on the frame's scale (0..1) as a percentage. */
export const hpText = (hp: number): string => `${Math.round(100 * hp)}%`;

function esc(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c,
  );
}

/**
 * Bars of a distribution signed around zero: the axis spans [min(0, lo), max(0, hi)], zero sits
 * where it falls in it, each bar runs from zero to its value (left for negative values).
 * Positions in percent of the track: [left, width] per value, and the zero line.
 */
export function signedBars(values: readonly number[]): { zero: number; bars: [number, number][] } {
  let lo = 0;
  let hi = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo || 1;
  const pos = (v: number) => (100 * (v - lo)) / span;
  const zero = pos(0);
  return {
    zero,
    bars: values.map((v) => {
      if (!Number.isFinite(v)) return [zero, 0];
      const p = pos(v);
      return [Math.min(p, zero), Math.abs(p - zero)];
    }),
  };
}

/** Entries to show of a distribution: in order when short, else sorted by value, largest first. */
export function orderEntries(values: readonly number[], all: boolean): number[] {
  const idx = values.map((_, i) => i);
  if (values.length <= SHOWN_ENTRIES) return idx;
  idx.sort((a, b) => (values[b] ?? 0) - (values[a] ?? 0) || a - b);
  return all ? idx : idx.slice(0, SHOWN_ENTRIES);
}

export class Inspector {
  /** Distributions the user asked to see whole (kept across refreshes). */
  private readonly expanded = new Set<string>();
  /** Action names by group name, learnt from inspections (labels.action or labels.policy). */
  private readonly actionNames = new Map<string, readonly string[]>();
  private last: {
    ins: AgentInspection;
    group: number;
    hp: number | null;
    fromFrame: boolean;
  } | null = null;

  constructor(
    private readonly el: HTMLElement,
    private readonly onPick: (ref: AgentRef) => void,
  ) {
    el.addEventListener('click', (e) => {
      const target = e.target as HTMLElement;
      const more = target.closest<HTMLElement>('[data-expand]');
      if (more) {
        const name = more.dataset.expand ?? '';
        if (this.expanded.has(name)) this.expanded.delete(name);
        else this.expanded.add(name);
        if (this.last) {
          const { ins, group, hp, fromFrame } = this.last;
          this.showAgent(ins, group, { hp, fromFrame });
        }
        return;
      }
      const t = target.closest<HTMLElement>('[data-group]');
      if (t) this.onPick({ group: Number(t.dataset.group), slot: Number(t.dataset.slot) });
    });
  }

  /** The name of an action of a group's agents, when known ("move 3" style codes otherwise). */
  actionText(group: string, code: number): string {
    if (code < 0) return 'none yet';
    const name = this.actionNames.get(group)?.[code];
    return name ? `${name} (${code})` : String(code);
  }

  /** Agents of a cell, from the frame alone (hover). */
  showCell(frame: RenderFrame, cx: number, cy: number, indices: number[]): void {
    this.last = null;
    const a = frame.agents;
    if (indices.length === 0) {
      const code = frame.cells[cy * frame.width + cx];
      this.el.innerHTML = `<div>cell (${cx}, ${cy}): ${esc(frame.legend[code] ?? String(code))}</div>`;
      return;
    }
    const rows = indices.map((i) => {
      const g = a.group[i];
      const name = frame.groups[g] ?? String(g);
      return `<tr class="pick" data-group="${g}" data-slot="${a.slot[i]}"><td style="color:${cssColour(groupColour(g))}">${esc(name)} #${a.slot[i]}</td><td class="v" data-hp="${a.hp[i]}">hp ${hpText(a.hp[i])}</td><td class="v">${esc(this.actionText(name, a.action[i]))}</td><td class="v">reward ${fmt(a.reward[i])}</td></tr>`;
    });
    this.el.innerHTML = `<div>cell (${cx}, ${cy}): ${indices.length} agent${indices.length > 1 ? 's' : ''}, click one</div><table>${rows.join('')}</table>`;
  }

  /**
   * Full inspection of one agent. `hp` is the agent's hp on the frame's scale (0..1) when the
   * frame holds it: shown as the hp, beside the experiment's own figure when that differs.
   */
  showAgent(
    ins: AgentInspection,
    groupIndex: number,
    opts: { hp?: number | null; fromFrame?: boolean } = {},
  ): void {
    const hp = opts.hp ?? null;
    const fromFrame = opts.fromFrame ?? false;
    this.last = { ins, group: groupIndex, hp, fromFrame };
    const names = ins.labels?.action ?? ins.labels?.policy;
    if (names && names.length > 0) this.actionNames.set(ins.group, names);
    const values = Object.entries(ins.values)
      .map(([k, v]) => {
        let shown = fmt(v);
        if (k === 'hp') {
          const frac = hp ?? (v >= 0 && v <= 1 ? v : null);
          if (frac !== null)
            shown = Math.abs(frac - v) < 1e-6 ? hpText(frac) : `${hpText(frac)} (${fmt(v)})`;
        } else if (k === 'action' && Number.isInteger(v)) shown = this.actionText(ins.group, v);
        return `<tr><td>${esc(k)}</td><td class="v" data-key="${esc(k)}" data-value="${v}">${esc(shown)}</td></tr>`;
      })
      .join('');
    const dists = Object.entries(ins.distributions)
      .map(([name, ps]) => {
        const labels = ins.labels?.[name];
        const all = this.expanded.has(name);
        const order = orderEntries(ps, all);
        const { zero, bars } = signedBars(ps);
        const rows = order
          .map((i) => {
            const p = ps[i];
            const [left, width] = bars[i];
            return `<span class="dlabel">${esc(labels?.[i] ?? String(i))}</span><span class="barbg"><span class="zero" style="left:${zero.toFixed(1)}%"></span><span class="bar${p < 0 ? ' neg' : ''}" data-entry="${i}" style="left:${left.toFixed(1)}%;width:${width.toFixed(1)}%"></span></span><span class="v">${fmt(p)}</span>`;
          })
          .join('');
        const sorted = ps.length > SHOWN_ENTRIES;
        const more = sorted
          ? `<button type="button" class="more" data-expand="${esc(name)}">${all ? `top ${SHOWN_ENTRIES} only` : `show all ${ps.length}`}</button>`
          : '';
        const note = sorted
          ? ` <small>(sorted, ${all ? 'all' : `top ${SHOWN_ENTRIES}`} of ${ps.length})</small>`
          : '';
        return `<div class="distname">${esc(name)}${note}</div><div class="dist" data-dist="${esc(name)}">${rows}</div>${more}`;
      })
      .join('');
    const source = fromFrame
      ? '<div class="from-frame"><small>what the frame holds (this experiment has no inspect)</small></div>'
      : '';
    this.el.innerHTML = `<div style="color:${cssColour(groupColour(groupIndex))}"><strong data-agent="${esc(ins.group)}#${ins.slot}">${esc(ins.group)} #${ins.slot}</strong></div>${source}<table>${values}</table>${dists}`;
  }

  message(text: string): void {
    this.last = null;
    this.el.innerHTML = `<em>${esc(text)}</em>`;
  }
}
