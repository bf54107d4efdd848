/**
 * The map's legend: what each cell colour means (the frame's legend, in its colours) and the
 * groups, with how an agent drawn one by one looks (body, hp bar, heading, the selection ring).
 */
import type { RenderFrame } from '@gibbs/core';
import { cssColour, groupColour, legendColour } from './palette.ts';

function esc(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c,
  );
}

export class Legend {
  private key = '';
  private collapsed = false;

  constructor(private readonly el: HTMLElement) {
    el.addEventListener('click', (e) => {
      if ((e.target as HTMLElement).closest('.legend-toggle')) {
        this.collapsed = !this.collapsed;
        el.classList.toggle('collapsed', this.collapsed);
      }
    });
  }

  /** Show the legend of this frame (rebuilt only when the legend or the groups change). */
  update(f: RenderFrame | null): void {
    if (!f || f.width * f.height === 0) {
      if (this.key !== '') {
        this.key = '';
        this.el.replaceChildren();
        this.el.hidden = true;
      }
      return;
    }
    const key = `${f.legend.join('\u0000')}|${f.groups.join('\u0000')}`;
    if (key === this.key) return;
    this.key = key;
    this.el.hidden = false;
    const cells = f.legend
      .map((name, code) => {
        const isGroup = f.groups.includes(name);
        return `<li data-code="${code}"><span class="swatch" style="background:${cssColour(legendColour(name, code, f.groups))}"></span>${esc(name)}${isGroup ? ' <small>(group)</small>' : ''}</li>`;
      })
      .join('');
    const groups = f.groups
      .map(
        (g, i) =>
          `<li data-group="${esc(g)}"><span class="swatch agent" style="background:${cssColour(groupColour(i))}"></span>${esc(g)}</li>`,
      )
      .join('');
    this.el.innerHTML = `<button type="button" class="legend-toggle" title="show or hide the legend">legend</button><div class="legend-body"><div class="legend-title">cells</div><ul>${cells}</ul><div class="legend-title">groups</div><ul>${groups}</ul><div class="legend-note">close up: body in the group colour, green bar = hp, white tick = heading; yellow ring = selected agent</div></div>`;
  }
}
