/**
 * The world on screen (pixi.js v8). The whole grid is one texture, one texel per cell, sampled
 * with nearest filtering and re-uploaded from each frame's cell codes through a colour lookup
 * table; a million cells cost one 4 MB upload and one sprite. When the view is close enough and
 * the population small enough, agents are drawn on top one by one: body in the group colour, an hp
 * bar and a heading tick.
 *
 * Frames have latest-value semantics here too: `show(frame)` only replaces the frame waiting for
 * the next animation frame (the replaced one counts as dropped), so the page is never more than one
 * frame behind whatever the producer sends.
 */
import type { RenderFrame } from '@gibbs/core';
import {
  Application,
  type ApplicationOptions,
  BufferImageSource,
  Container,
  Graphics,
  Sprite,
  Texture,
  UPDATE_PRIORITY,
} from 'pixi.js';
import {
  type CameraState,
  centreOn,
  fitCamera,
  screenToWorld,
  worldToScreen,
  zoomAt,
} from './camera.ts';
import { CellLayer } from './cell-layer.ts';
import { groupColour, paintCells, paletteFor } from './palette.ts';

/** Draw agents one by one up to this many in view... */
const AGENT_DRAW_LIMIT = 1500;
/**
 * ...when they are sparse (at most this fraction of the cells): where every cell holds an agent
 * (an Ising lattice) the cell colours are the picture, and bodies on top would hide them...
 */
const AGENT_DRAW_MAX_DENSITY = 0.5;
/** ...and only when a cell is at least this many screen pixels wide. */
const AGENT_DRAW_MIN_SCALE = 4;
/** The selection ring: at least this many screen pixels across, in this colour (#ffd43b). */
const RING_MIN_PX = 18;
export const RING_COLOUR = 0xffd43b;

export interface GridViewOptions {
  preference?: 'webgl' | 'webgpu';
  /**
   * How cells become colours: 'palette' uploads the cell codes (one byte each) and colours them in
   * a shader (WebGL only); 'rgba' colours them on the CPU into an RGBA texture. Default: palette
   * on WebGL, rgba otherwise.
   */
  cells?: 'palette' | 'rgba';
  /** Keep the drawing buffer after compositing (for in-page pixel reads; costs a copy a frame). */
  preserveDrawingBuffer?: boolean;
  /** Called when a new frame is taken for drawing (before the upload). */
  onDraw?: (frame: RenderFrame) => void;
  /** Called after a new frame reached the screen (the producer may send the next one). */
  onDrawn?: (frame: RenderFrame) => void;
  /**
   * The WebGPU renderer was asked for and is unavailable, failed or was lost: the view now draws
   * with WebGL. The message says why.
   */
  onFallback?: (message: string) => void;
}

export interface FollowTarget {
  group: number;
  slot: number;
}

export class GridView {
  private application: Application | null = null;
  private world = new Container();
  private sprite: Sprite | null = null;
  private layer: CellLayer | null = null;
  private cellMode: 'palette' | 'rgba' = 'rgba';
  private source: BufferImageSource | null = null;
  private texels: Uint32Array | null = null;
  private lut: Uint32Array | null = null;
  private lutKey = '';
  private agents = new Graphics();
  /** The ring around the selected (or followed) agent. */
  private ring = new Graphics();
  private highlighted: FollowTarget | null = null;
  private ringKey = '';
  private pending: RenderFrame | null = null;
  private current: RenderFrame | null = null;
  private camera: CameraState = { scale: 1, x: 0, y: 0 };
  /** False until the user moves the view: the world stays fitted to the canvas as it resizes. */
  private userMoved = false;
  private fittedTo = '';
  private followTarget: FollowTarget | null = null;
  private readonly drawTimes: number[] = [];
  /** Set while the view swaps its renderer (WebGPU failed): the old one's events are ignored. */
  private swapping = false;
  /** The WebGPU output still has to be checked (after its first drawn frame). */
  private checkOutput = false;
  /** Why the view draws with WebGL although WebGPU was asked for (null: it was not, or it works). */
  fallback: string | null = null;
  /** Agents drawn one by one: 'auto' (sparse enough and close enough), always, or never. */
  agentsMode: 'auto' | 'on' | 'off' = 'auto';
  /** Frames replaced before they were drawn. */
  droppedFrames = 0;
  framesDrawn = 0;

  private constructor(
    private readonly host: HTMLElement,
    private readonly opts: GridViewOptions,
  ) {}

  static async create(host: HTMLElement, opts: GridViewOptions = {}): Promise<GridView> {
    const v = new GridView(host, opts);
    const want = opts.preference ?? 'webgl';
    if (want === 'webgpu') {
      try {
        await v.mount('webgpu');
        if (v.renderer !== 'webgpu')
          v.fellBack('WebGPU is not available in this browser (no navigator.gpu or no adapter)');
      } catch (err) {
        v.unmount();
        await v.mount('webgl');
        v.fellBack(`WebGPU could not start: ${err instanceof Error ? err.message : String(err)}`);
      }
    } else await v.mount(want);
    // resizeTo follows window resizes only; the stage also changes size with the page's layout.
    new ResizeObserver(() => v.application?.queueResize()).observe(host);
    return v;
  }

  /** The pixi application drawing now (it changes when WebGPU falls back to WebGL). */
  get app(): Application {
    if (!this.application) throw new Error('GridView: no renderer (it is being replaced)');
    return this.application;
  }

  /** Start a renderer and put the world on its stage. */
  private async mount(preference: 'webgl' | 'webgpu'): Promise<void> {
    const app = new Application();
    const init: Partial<ApplicationOptions> = {
      resizeTo: this.host,
      background: '#0b0d12',
      antialias: false,
      preference,
      preserveDrawingBuffer: this.opts.preserveDrawingBuffer ?? false,
    };
    await app.init(init);
    this.application = app;
    this.cellMode = this.opts.cells ?? (app.renderer.name === 'webgl' ? 'palette' : 'rgba');
    if (this.cellMode === 'palette' && app.renderer.name !== 'webgl') this.cellMode = 'rgba';
    this.host.appendChild(app.canvas);
    this.world = new Container();
    this.agents = new Graphics();
    this.ring = new Graphics();
    this.world.addChild(this.agents);
    this.world.addChild(this.ring);
    app.stage.addChild(this.world);
    app.ticker.add(() => this.tick());
    this.applyCamera();
    const r = app.renderer;
    if ('gpu' in r) {
      const device = r.gpu.device;
      void device.lost.then((info) => {
        if (this.application === app && !this.swapping)
          void this.toWebGl(
            `the WebGPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''})`,
          );
      });
      device.addEventListener('uncapturederror', (e) => {
        if (this.application === app && !this.swapping)
          void this.toWebGl(`WebGPU failed: ${(e as GPUUncapturedErrorEvent).error.message}`);
      });
      this.checkOutput = true;
      // Checked right after the renderer drew (same task: the canvas texture is still current).
      app.ticker.add(() => this.checkWebGpuOutput(app), undefined, UPDATE_PRIORITY.UTILITY);
    }
  }

  /** Take the renderer down, keeping the frame, camera and selection for the next one. */
  private unmount(): void {
    const app = this.application;
    this.application = null;
    this.layer = null;
    this.sprite = null;
    this.source = null;
    this.texels = null;
    this.lutKey = '';
    this.agentsShown = null;
    this.ringKey = '';
    if (!app) return;
    try {
      app.ticker?.stop();
      app.destroy({ removeView: true }, { children: true, texture: true, textureSource: true });
    } catch {
      // A lost device may refuse to free its resources: the canvas goes anyway.
      app.canvas?.remove();
    }
  }

  private fellBack(reason: string): void {
    this.fallback = reason;
    this.opts.onFallback?.(`${reason}: drawing with WebGL instead`);
  }

  /** Replace a failed WebGPU renderer with WebGL, from the frame on screen. */
  private async toWebGl(reason: string): Promise<void> {
    if (this.swapping) return;
    this.swapping = true;
    try {
      const frame = this.pending ?? this.current;
      this.unmount();
      await this.mount('webgl');
      this.pending = frame;
      this.current = null;
      this.fellBack(reason);
    } finally {
      this.swapping = false;
    }
  }

  /** A WebGPU canvas that shows nothing (transparent where the background is opaque) failed. */
  private checkWebGpuOutput(app: Application): void {
    if (!this.checkOutput || this.framesDrawn === 0 || this.application !== app) return;
    this.checkOutput = false;
    try {
      const c = app.canvas;
      const probe = new OffscreenCanvas(1, 1);
      const ctx = probe.getContext('2d');
      if (!ctx || c.width === 0 || c.height === 0) return;
      ctx.drawImage(c, 2, 2, 1, 1, 0, 0, 1, 1);
      const alpha = ctx.getImageData(0, 0, 1, 1).data[3];
      if (alpha === 0) void this.toWebGl('WebGPU drew nothing to the canvas');
    } catch (err) {
      void this.toWebGl(
        `WebGPU output could not be read (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }

  get renderer(): string {
    return this.application?.renderer.name ?? 'none';
  }

  /** How cells are coloured: in a shader from the codes, or on the CPU into RGBA. */
  get cellPath(): 'palette' | 'rgba' {
    return this.cellMode;
  }

  /** The frame on screen (or about to be). */
  get frame(): RenderFrame | null {
    return this.pending ?? this.current;
  }

  show(frame: RenderFrame): void {
    if (this.pending) this.droppedFrames++;
    this.pending = frame;
    this.world.visible = true;
  }

  /** Show nothing (no source): the last frame goes until the next one arrives. */
  clear(): void {
    this.pending = null;
    this.current = null;
    this.world.visible = false;
  }

  /** New frames drawn per second over the last second. */
  get fps(): number {
    const now = performance.now();
    while (this.drawTimes.length > 0 && now - this.drawTimes[0] > 1000) this.drawTimes.shift();
    return this.drawTimes.length;
  }

  get view(): CameraState {
    return { ...this.camera };
  }

  setCamera(c: CameraState): void {
    this.camera = c;
    this.userMoved = true;
    this.applyCamera();
  }

  /** Fit the world in the canvas, and keep it fitted until the user zooms or pans. */
  fit(): void {
    this.userMoved = false;
    this.fittedTo = '';
    this.autoFit();
  }

  zoom(sx: number, sy: number, factor: number): void {
    this.setCamera(zoomAt(this.camera, sx, sy, factor));
  }

  pan(dx: number, dy: number): void {
    this.followTarget = null;
    this.setCamera({ ...this.camera, x: this.camera.x + dx, y: this.camera.y + dy });
  }

  private autoFit(): void {
    const f = this.frame;
    if (!f || this.userMoved || !this.application) return;
    const { width, height } = this.application.screen;
    const key = `${f.width}x${f.height}@${width}x${height}`;
    if (key === this.fittedTo) return;
    this.fittedTo = key;
    this.camera = fitCamera(f.width, f.height, width, height);
    this.applyCamera();
  }

  follow(target: FollowTarget | null): void {
    this.followTarget = target;
    if (target) this.applyFollow();
  }

  get following(): FollowTarget | null {
    return this.followTarget;
  }

  /** Ring an agent on the map (the selected one), or none. */
  highlight(target: FollowTarget | null): void {
    this.highlighted = target;
    this.ringKey = '';
    this.drawRing();
  }

  /** The agent ringed on the map. */
  get highlightedAgent(): FollowTarget | null {
    return this.highlighted;
  }

  /** Cell under a point of the canvas (CSS pixels), or null outside the grid. */
  cellAt(sx: number, sy: number): [number, number] | null {
    const f = this.frame;
    if (!f) return null;
    const [wx, wy] = screenToWorld(this.camera, sx, sy);
    const cx = Math.floor(wx);
    const cy = Math.floor(wy);
    return cx >= 0 && cy >= 0 && cx < f.width && cy < f.height ? [cx, cy] : null;
  }

  /** Centre of a cell on the canvas (CSS pixels). */
  cellToScreen(cx: number, cy: number): [number, number] {
    return worldToScreen(this.camera, cx + 0.5, cy + 0.5);
  }

  destroy(): void {
    this.unmount();
  }

  /** The canvas drawn on now (it changes when WebGPU falls back to WebGL). */
  get canvas(): HTMLCanvasElement {
    return this.app.canvas;
  }

  /**
   * Draw the waiting frame and render at once, outside the animation loop, and give the canvas:
   * it holds this picture until the current task ends (a WebGL drawing buffer is not kept after
   * compositing), which is when snapshots and video frames read it.
   */
  renderNow(): HTMLCanvasElement {
    this.tick();
    this.app.render();
    return this.app.canvas;
  }

  private tick(): void {
    const f = this.pending;
    if (f) {
      this.pending = null;
      this.opts.onDraw?.(f);
      this.draw(f);
      this.current = f;
      this.framesDrawn++;
      this.drawTimes.push(performance.now());
      this.opts.onDrawn?.(f);
    } else if (this.current) {
      this.autoFit();
      this.drawAgents(this.current);
    }
    this.drawRing();
  }

  /**
   * A yellow ring around the highlighted agent's cell, at least RING_MIN_PX across on screen
   * (visible however far out the view is), two screen pixels wide.
   */
  private drawRing(): void {
    const t = this.highlighted ?? this.followTarget;
    const f = this.frame;
    const { scale } = this.camera;
    let i = -1;
    if (t && f) {
      const a = f.agents;
      for (let k = 0; k < a.count; k++) {
        if (a.group[k] === t.group && a.slot[k] === t.slot) {
          i = k;
          break;
        }
      }
    }
    const cx = i >= 0 && f ? Math.floor(f.agents.x[i]) + 0.5 : Number.NaN;
    const cy = i >= 0 && f ? Math.floor(f.agents.y[i]) + 0.5 : Number.NaN;
    const key = `${cx}|${cy}|${scale}`;
    if (key === this.ringKey) return;
    this.ringKey = key;
    const g = this.ring;
    g.clear();
    if (i < 0) return;
    const r = Math.max(0.85, RING_MIN_PX / 2 / scale);
    const w = 2 / scale;
    g.circle(cx, cy, r + w).stroke({ width: w * 1.5, color: 0x000000, alpha: 0.6 });
    g.circle(cx, cy, r).stroke({ width: w, color: RING_COLOUR });
  }

  private draw(f: RenderFrame): void {
    if (f.width > 0 && f.height > 0) {
      const key = `${f.legend.join('\u0000')}|${f.groups.join('\u0000')}`;
      const newLegend = key !== this.lutKey || !this.lut;
      if (newLegend) {
        this.lut = paletteFor(f.legend, f.groups);
        this.lutKey = key;
      }
      if (this.cellMode === 'palette') {
        if (this.ensureLayer(f.width, f.height) || newLegend) this.layer!.setPalette(this.lut!);
        this.layer!.draw(f);
      } else {
        this.ensureTexture(f.width, f.height);
        paintCells(f.cells, this.lut!, this.texels!);
        this.source!.update();
      }
    }
    this.current = f;
    this.autoFit();
    if (this.followTarget) this.applyFollow(f);
    this.drawAgents(f);
  }

  /** A cell layer of this size; true when it is new (its palette is still to be set). */
  private ensureLayer(w: number, h: number): boolean {
    if (this.layer && this.layer.width === w && this.layer.height === h) return false;
    this.layer?.destroy();
    this.layer = new CellLayer(w, h);
    this.world.addChildAt(this.layer.mesh, 0);
    return true;
  }

  private ensureTexture(w: number, h: number): void {
    if (this.source && this.source.width === w && this.source.height === h) return;
    this.sprite?.destroy({ texture: true, textureSource: true });
    const bytes = new Uint8Array(w * h * 4);
    this.texels = new Uint32Array(bytes.buffer);
    this.source = new BufferImageSource({
      resource: bytes,
      width: w,
      height: h,
      format: 'rgba8unorm',
      scaleMode: 'nearest',
      autoGenerateMipmaps: false,
    });
    this.sprite = new Sprite(new Texture({ source: this.source }));
    this.world.addChildAt(this.sprite, 0);
  }

  // An agent's cell is (floor(x), floor(y)): worlds give either the cell's corner or its centre.
  private agentsShown: RenderFrame | null = null;
  private agentsKey = '';
  private readonly inView = new Int32Array(AGENT_DRAW_LIMIT);

  /**
   * Redraw the agent layer when the frame, the view or the mode changed. Only agents inside the
   * view are drawn (culled by cell), and only up to AGENT_DRAW_LIMIT of them: vector shapes cost
   * tens of microseconds each, so the layer is for close views of a population, not all of it.
   */
  private drawAgents(f: RenderFrame): void {
    const a = f.agents;
    const cells = f.width * f.height;
    const { scale, x, y } = this.camera;
    const { width, height } = this.app.screen;
    // The visible cell rectangle, one cell of margin.
    const x0 = Math.floor(-x / scale) - 1;
    const y0 = Math.floor(-y / scale) - 1;
    const x1 = Math.ceil((width - x) / scale) + 1;
    const y1 = Math.ceil((height - y) / scale) + 1;
    const key = `${this.agentsMode}|${scale}|${x}|${y}|${width}|${height}`;
    if (f === this.agentsShown && key === this.agentsKey) return;
    this.agentsShown = f;
    this.agentsKey = key;
    const g = this.agents;
    g.clear();
    if (a.count === 0 || cells === 0 || this.agentsMode === 'off') return;
    if (this.agentsMode === 'auto') {
      if (scale < AGENT_DRAW_MIN_SCALE || a.count > AGENT_DRAW_MAX_DENSITY * cells) return;
    }
    const inView = this.inView;
    let n = 0;
    for (let i = 0; i < a.count; i++) {
      const cx = Math.floor(a.x[i]);
      const cy = Math.floor(a.y[i]);
      if (cx < x0 || cy < y0 || cx > x1 || cy > y1) continue;
      if (n === AGENT_DRAW_LIMIT) return; // too many in view: the cells alone show them
      inView[n++] = i;
    }
    const groups = Math.max(1, f.groups.length);
    // One path per group and style: a handful of fills per frame, not one per agent.
    for (let k = 0; k < groups; k++) {
      let any = false;
      for (let j = 0; j < n; j++) {
        const i = inView[j];
        if (a.group[i] !== k) continue;
        g.rect(Math.floor(a.x[i]) + 0.12, Math.floor(a.y[i]) + 0.22, 0.76, 0.66);
        any = true;
      }
      if (!any) continue;
      const [r, gg, b] = groupColour(k);
      g.fill({ color: (r << 16) | (gg << 8) | b });
      g.stroke({ width: 0.06, color: 0xffffff, alpha: 0.7 });
    }
    for (let j = 0; j < n; j++) {
      const i = inView[j];
      g.rect(Math.floor(a.x[i]) + 0.1, Math.floor(a.y[i]) + 0.04, 0.8, 0.12);
    }
    g.fill({ color: 0x202020 });
    for (let j = 0; j < n; j++) {
      const i = inView[j];
      const hp = Math.max(0, Math.min(1, a.hp[i]));
      if (hp > 0) g.rect(Math.floor(a.x[i]) + 0.1, Math.floor(a.y[i]) + 0.04, 0.8 * hp, 0.12);
    }
    g.fill({ color: 0x7cf07c });
    let headings = false;
    for (let j = 0; j < n; j++) {
      const i = inView[j];
      const h = a.heading[i];
      if (Number.isNaN(h)) continue;
      const cx = Math.floor(a.x[i]) + 0.5;
      const cy = Math.floor(a.y[i]) + 0.55;
      g.moveTo(cx, cy).lineTo(cx + 0.42 * Math.cos(h), cy + 0.42 * Math.sin(h));
      headings = true;
    }
    if (headings) g.stroke({ width: 0.1, color: 0xffffff });
  }

  private applyFollow(f: RenderFrame | null = this.frame): void {
    const t = this.followTarget;
    if (!t || !f || !this.application) return;
    const a = f.agents;
    for (let i = 0; i < a.count; i++) {
      if (a.group[i] === t.group && a.slot[i] === t.slot) {
        this.userMoved = true;
        this.camera = centreOn(
          this.camera,
          Math.floor(a.x[i]) + 0.5,
          Math.floor(a.y[i]) + 0.5,
          this.app.screen.width,
          this.app.screen.height,
        );
        this.applyCamera();
        return;
      }
    }
  }

  private applyCamera(): void {
    this.world.scale.set(this.camera.scale);
    this.world.position.set(this.camera.x, this.camera.y);
  }
}
