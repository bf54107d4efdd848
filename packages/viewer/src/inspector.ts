/**
 * The inspector panel: the agents under the cursor (a list when several share the cell), and for
 * the chosen one what the simulation says about it (Simulation.inspect): named values and
 * distributions (policy, mean action, beliefs, expected free energy parts...) as bars.
 */
import type { AgentInspection, RenderFrame } from '@gibbs/core';
import { cssColour, groupColour } from './palette.ts';

/** Indices into `frame.agents` of the live agents in cell (cx, cy). */
export function agentsAt(frame: RenderFrame, cx: number, cy: number): number[] {
  const a = frame.agents;
  const out: number[] = [];
  for (let i = 0; i < a.count; i++) {
    if (Math.floor(a.x[i]) === cx && Math.floor(a.y[i]) === cy) out.push(i);
  }
  return out;
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

function esc(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!,
  );
}

export class Inspector {
  constructor(
    private readonly el: HTMLElement,
    private readonly onPick: (ref: AgentRef) => void,
  ) {
    el.addEventListener('click', (e) => {
      const t = (e.target as HTMLElement).closest<HTMLElement>('[data-group]');
      if (t) this.onPick({ group: Number(t.dataset.group), slot: Number(t.dataset.slot) });
    });
  }

  /** Agents of a cell, from the frame alone (hover). */
  showCell(frame: RenderFrame, cx: number, cy: number, indices: number[]): void {
    const a = frame.agents;
    if (indices.length === 0) {
      const code = frame.cells[cy * frame.width + cx];
      this.el.innerHTML = `<div>cell (${cx}, ${cy}): ${esc(frame.legend[code] ?? String(code))}</div>`;
      return;
    }
    const rows = indices.map((i) => {
      const g = a.group[i];
      const name = frame.groups[g] ?? String(g);
      return `<tr class="pick" data-group="${g}" data-slot="${a.slot[i]}"><td style="color:${cssColour(groupColour(g))}">${esc(name)} #${a.slot[i]}</td><td class="v">hp ${fmt(a.hp[i])}</td><td class="v">action ${a.action[i]}</td><td class="v">reward ${fmt(a.reward[i])}</td></tr>`;
    });
    this.el.innerHTML = `<div>cell (${cx}, ${cy}): ${indices.length} agent${indices.length > 1 ? 's' : ''}, click one</div><table>${rows.join('')}</table>`;
  }

  /** Full inspection of one agent. */
  showAgent(ins: AgentInspection, groupIndex: number): void {
    const values = Object.entries(ins.values)
      .map(
        ([k, v]) => `<tr><td>${esc(k)}</td><td class="v" data-key="${esc(k)}">${fmt(v)}</td></tr>`,
      )
      .join('');
    const dists = Object.entries(ins.distributions)
      .map(([name, ps]) => {
        const labels = ins.labels?.[name];
        const max = Math.max(1e-12, ...ps.map((p) => Math.abs(p)));
        const bars = ps
          .map(
            (p, i) =>
              `<span>${esc(labels?.[i] ?? String(i))}</span><span class="barbg"><span class="bar" style="display:block;width:${((100 * Math.abs(p)) / max).toFixed(1)}%"></span></span><span class="v">${fmt(p)}</span>`,
          )
          .join('');
        return `<div class="distname">${esc(name)}</div><div class="dist" data-dist="${esc(name)}">${bars}</div>`;
      })
      .join('');
    this.el.innerHTML = `<div style="color:${cssColour(groupColour(groupIndex))}"><strong data-agent="${esc(ins.group)}#${ins.slot}">${esc(ins.group)} #${ins.slot}</strong></div><table>${values}</table>${dists}`;
  }

  message(text: string): void {
    this.el.innerHTML = `<em>${esc(text)}</em>`;
  }
}
