/**
 * The viewer page: picks a source (a simulation in the page, a served CLI run, a replay), draws
 * its frames, charts its metrics, inspects its agents, and steers it. URL parameters (also what
 * `pnpm gibbs view` puts there): experiment, seed, params (k=v,k=v), autoplay, speed, renderer,
 * attach (ws://...), replay (a runs-relative path), thread (worker | main), cells (palette | rgba),
 * layout=stage (the stage alone, filling the window: what `gibbs video` records).
 */

import { defaults, site } from 'virtual:gibbs-experiments';
import type { AgentInspection, MetricRecord, RenderFrame } from '@gibbs/core';
import {
  animationFrames,
  exhaustMap,
  filter,
  from,
  interval,
  merge,
  type Observable,
  Subject,
  throttleTime,
} from 'rxjs';
import { Charts } from './charts.ts';
import {
  experimentNames,
  experimentRef,
  loadBrowserExperiment,
  paramFields,
} from './experiments.ts';
import {
  base64Of,
  CanvasRecording,
  download,
  type EncodedVideo,
  encodeReplay,
  exportName,
  snapshotPng,
} from './export.ts';
import { attachGestures } from './gestures.ts';
import { GridView } from './grid-view.ts';
import { type AgentRef, agentIndex, agentsAt, Inspector, inspectFromFrame } from './inspector.ts';
import { bindKeys, renderKeyTable } from './keys.ts';
import { Legend } from './legend.ts';
import { MainThreadSource } from './local-source.ts';
import { ParamForm } from './params-form.ts';
import { readRecording } from './recording.ts';
import { ReplaySource } from './replay-source.ts';
import { errorText, type SimSource, type SourceStatus, type Unsubscribable } from './source.ts';
import { WorkerSource } from './worker-source.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const url = new URLSearchParams(location.search);

const ui = {
  experiment: $<HTMLSelectElement>('experiment'),
  seed: $<HTMLInputElement>('seed'),
  thread: $<HTMLSelectElement>('thread'),
  paramsToggle: $<HTMLButtonElement>('params-toggle'),
  params: $<HTMLElement>('params'),
  about: $<HTMLElement>('about'),
  legend: $<HTMLElement>('legend'),
  help: $<HTMLElement>('help'),
  helpToggle: $<HTMLButtonElement>('help-toggle'),
  helpClose: $<HTMLButtonElement>('help-close'),
  helpKeys: $<HTMLTableElement>('help-keys'),
  live: $<HTMLElement>('live'),
  start: $<HTMLButtonElement>('start'),
  ckSave: $<HTMLButtonElement>('ck-save'),
  ckLoad: $<HTMLInputElement>('ck-load'),
  ckLoadLabel: $<HTMLElement>('ck-load-label'),
  play: $<HTMLButtonElement>('play'),
  step: $<HTMLButtonElement>('step'),
  speed: $<HTMLSelectElement>('speed'),
  fit: $<HTMLButtonElement>('fit'),
  follow: $<HTMLButtonElement>('follow'),
  record: $<HTMLButtonElement>('record'),
  snapshot: $<HTMLButtonElement>('snapshot'),
  attach: $<HTMLInputElement>('attach'),
  attachGo: $<HTMLButtonElement>('attach-go'),
  runs: $<HTMLSelectElement>('runs'),
  replayFile: $<HTMLInputElement>('replay-file'),
  stage: $<HTMLElement>('stage'),
  nogrid: $<HTMLElement>('nogrid'),
  inspector: $<HTMLElement>('inspector'),
  charts: $<HTMLElement>('charts'),
  scrub: $<HTMLInputElement>('scrub'),
  stats: $<HTMLElement>('stats'),
  message: $<HTMLElement>('message'),
  rendererNote: $<HTMLElement>('renderer-note'),
};

let source: SimSource | null = null;
let subs: Unsubscribable[] = [];
let status: SourceStatus | null = null;
let charts = new Charts(ui.charts);
let selected: AgentRef | null = null;
let lastInspection: AgentInspection | null = null;
/** The stage being recorded (record, v), and the name its download will have. */
let recording: { rec: CanvasRecording; name: string } | null = null;

function say(text: string, error = false): void {
  ui.message.textContent = text;
  ui.message.className = error ? 'error' : '';
}

const view = await GridView.create(ui.stage, {
  preference: url.get('renderer') === 'webgpu' ? 'webgpu' : 'webgl',
  cells:
    url.get('cells') === 'rgba' ? 'rgba' : url.get('cells') === 'palette' ? 'palette' : undefined,
  onDrawn: () => {
    source?.requestFrame();
    refreshInspection();
  },
  // WebGPU unavailable, failed or lost: the view draws with WebGL, and the page says why.
  onFallback: (message) => {
    ui.rendererNote.textContent = message;
    // The recorded canvas is gone: keep what was recorded of it.
    if (recording) void stopRecording('the renderer changed');
  },
}).catch((err: unknown) => {
  say(`this browser could not start a WebGL or WebGPU renderer: ${errorText(err)}`, true);
  throw err;
});

/** Swap the source the page watches (null: none); the old one is disposed. */
function use(next: SimSource | null): void {
  for (const s of subs) s.unsubscribe();
  subs = [];
  source?.dispose();
  source = next;
  status = null;
  selected = null;
  lastInspection = null;
  lastMetric = null;
  view.follow(null);
  view.highlight(null);
  ui.follow.setAttribute('aria-pressed', 'false');
  // A new run's charts keep the user's choices (panels added, smoothing, x axis).
  const prefs = charts.prefs();
  charts.destroy();
  charts = new Charts(ui.charts, prefs);
  ui.inspector.innerHTML = '<em>hover or click an agent</em>';
  ui.ckSave.hidden = ui.ckLoadLabel.hidden = !next?.checkpoints;
  lastNotice = null;
  renderLive();
  if (!next) {
    ui.play.textContent = 'play';
    view.clear();
    legend.update(null);
    return;
  }
  subs = [
    next.frames$.subscribe((f) => {
      view.show(f);
      legend.update(f);
      charts.setGroups(f.groups);
    }),
    next.metrics$.subscribe((rs) => onMetrics(rs)),
    next.status$.subscribe((s) => onStatus(s)),
    next.errors$.subscribe((e) => say(e, true)),
  ];
  if (next.episodes$) subs.push(next.episodes$.subscribe((es) => charts.pushEpisodes(es)));
  next.setSpeed(Number(ui.speed.value));
  renderLive();
  next.requestFrame();
}

/** Local sources are described by the parameters form; others get the live strip. */
const isLocal = (s: SimSource | null) => s?.kind === 'worker' || s?.kind === 'main-thread';

let lastMetric: MetricRecord | null = null;
let lastNotice: string | null = null;

function onMetrics(rs: readonly MetricRecord[]): void {
  if (rs.length > 0) lastMetric = rs[rs.length - 1];
  // Dropped frames: the producer's (steps nobody saw) and the page's own (frames replaced before
  // they were drawn), as the status line counts them.
  const dropped = (status?.droppedFrames ?? 0) + view.droppedFrames;
  charts.push(rs.map((r) => ({ ...r, values: { ...r.values, dropped_frames: dropped } })));
}

function onStatus(s: SourceStatus): void {
  status = s;
  // Live parameters changed elsewhere (another watcher, the experiment) show their new value,
  // unless the user is editing that field.
  for (const p of source?.liveParams() ?? []) {
    if (isLocal(source)) {
      form.setLive(p);
      continue;
    }
    const input = ui.live.querySelector<HTMLInputElement>(`input[data-live="${p.name}"]`);
    if (!input || input === document.activeElement) continue;
    if (Number(input.dataset.editedAt ?? 0) > performance.now() - 1500) continue;
    if (input.type === 'checkbox') input.checked = p.value === true;
    else if (input.value !== String(p.value)) input.value = String(p.value);
  }
  ui.play.textContent = s.running ? 'pause' : 'play';
  ui.play.setAttribute('aria-pressed', String(s.running));
  if (s.failed) say(s.failed, true);
  // A backend fallback: said once, when it happens, and kept until something else is said.
  else if (s.notice && s.notice !== lastNotice) say(s.notice);
  lastNotice = s.notice ?? null;
  charts.setCursor(s.replay ? { step: s.step, episode: s.episode } : null);
  if (s.replay) {
    ui.scrub.hidden = false;
    ui.scrub.max = String(Math.max(0, s.replay.frames - 1));
    ui.scrub.value = String(s.replay.index);
  } else ui.scrub.hidden = true;
}

const ISOLATION_NOTE =
  'not cross-origin isolated (no COOP/COEP headers): no SharedArrayBuffer, one thread per learner, slower';

function renderStats(): void {
  const s = status;
  const f = view.frame;
  const parts = [
    s ? `${s.kind}${s.experiment ? ` ${s.experiment}` : ''}` : 'no source',
    `backend ${s?.backend ?? 'none'}`,
    `render ${view.renderer} (${view.cellPath}${view.fallback ? ', WebGPU failed' : ''})`,
    `step ${s?.step ?? 0}`,
    `episode ${s?.episode ?? 0}`,
    `${(s?.stepsPerSecond ?? 0).toFixed(1)} steps/s`,
    `${view.fps} fps`,
    `dropped ${(s?.droppedFrames ?? 0) + view.droppedFrames}`,
  ];
  if (f) parts.push(`${f.width}x${f.height}, ${f.agents.count} agents`);
  ui.nogrid.hidden = !f || f.width * f.height > 0;
  if (f && f.width * f.height === 0) {
    ui.nogrid.textContent = `${s?.experiment ?? 'this world'} has no grid to draw (${f.agents.count} agents): see the charts`;
  }
  if (s?.replay) parts.push(`frame ${s.replay.index + 1}/${s.replay.frames}`);
  if (recording) {
    const t = Math.floor(recording.rec.seconds);
    ui.record.textContent = `stop ${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
  }
  // Without COOP/COEP headers (most static hosts) there is no SharedArrayBuffer: learners and
  // worlds run on one thread each, slower.
  if (!crossOriginIsolated) parts.push(ISOLATION_NOTE);
  ui.stats.textContent = parts.join('  ·  ');
}

// ---------------------------------------------------------------- experiment, seed, parameters

function fillExperiments(): void {
  const names = experimentNames();
  ui.experiment.innerHTML = names.map((n) => `<option>${n}</option>`).join('');
  if (names.length === 0) say('no experiments found: pass a module to `pnpm gibbs view`');
  const wanted = url.get('experiment') ?? defaults.experiment;
  if (wanted && names.includes(wanted)) ui.experiment.value = wanted;
  ui.seed.value = url.get('seed') ?? String(defaults.seed ?? 0);
  ui.thread.value = (url.get('thread') ?? defaults.thread) === 'main' ? 'main' : 'worker';
}

function urlParams(): Record<string, string> {
  const out: Record<string, string> = { ...(defaults.params ?? {}) };
  for (const kv of (url.get('params') ?? '').split(',').filter(Boolean)) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

const form = new ParamForm(
  ui.params,
  {
    onLive: (name, value) => {
      if (isLocal(source)) void source?.setParam(name, value);
    },
    onPending: (changed) => {
      ui.start.classList.toggle('pending', changed.length > 0);
      ui.start.title =
        changed.length > 0
          ? `apply ${changed.join(', ')}: create the simulation anew (r)`
          : 'create the simulation anew with this seed and these parameters (r)';
    },
  },
  [ui.seed],
);

/** The experiment picked in the dropdown: its description and its parameters as controls. */
async function renderParamsForm(initial: Record<string, string>): Promise<void> {
  const name = ui.experiment.value;
  const exp = await loadBrowserExperiment(name);
  if (ui.experiment.value !== name) return;
  ui.about.innerHTML = '';
  const strong = document.createElement('strong');
  strong.textContent = exp.name;
  ui.about.append(strong, `: ${exp.description}`);
  form.render(paramFields(exp), initial);
}

/** Create the simulation of the chosen experiment, seed and parameters (in this page), paused. */
async function startLocal(autoplay: boolean, restore?: Uint8Array): Promise<void> {
  say('');
  const name = ui.experiment.value;
  if (!name || name === RUN_OPTION) {
    say('pick an experiment to run one here');
    return;
  }
  const seed = Number(ui.seed.value);
  try {
    const exp = await loadBrowserExperiment(name);
    const where = ui.thread.value === 'main' ? 'in the page' : 'in a worker';
    say(`creating ${name} ${where}…`);
    const params = form.values();
    // ?backend=webgl|wasm|cpu forces a tfjs backend; faulty:N one that fails after N kernel calls.
    const backend = url.get('backend') ?? undefined;
    const src =
      ui.thread.value === 'main'
        ? await MainThreadSource.create({ experiment: exp, seed, params, backend, restore })
        : await WorkerSource.create({
            experiment: experimentRef(name),
            seed,
            params,
            backend,
            restore,
          });
    if (ui.experiment.value !== name) {
      // Another experiment was picked meanwhile: that one wins.
      src.dispose();
      return;
    }
    use(src);
    form.markApplied();
    say(autoplay ? '' : `${name} is ready at step 0: press play (space)`);
    view.fit();
    if (autoplay) src.play();
  } catch (err) {
    // What is shown is what runs: a failed pick leaves nothing running.
    use(null);
    const text = errorText(err);
    // An experiment that imports Node modules (checkpoint files...) cannot run in a page.
    const nodeOnly = /externalized for browser compatibility|node:\w+/.exec(text);
    say(
      nodeOnly
        ? `${name} uses Node-only modules (${/node:\w+/.exec(text)?.[0] ?? 'node'}) and cannot run in the browser: run it with \`pnpm gibbs run ${name} --serve 8765\` and attach to ws://127.0.0.1:8765`
        : text,
      true,
    );
  }
}

/** Live parameters of a source the form does not describe (an attached run), as controls. */
function renderLive(): void {
  ui.live.innerHTML = '';
  if (!source || isLocal(source)) return;
  for (const p of source.liveParams()) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.name = p.name;
    input.dataset.live = p.name;
    if (p.kind === 'boolean') {
      input.type = 'checkbox';
      input.checked = p.value === true;
    } else {
      input.type = p.kind === 'string' ? 'text' : 'number';
      input.step = p.kind === 'integer' ? '1' : 'any';
      if (p.min !== undefined) input.min = String(p.min);
      if (p.max !== undefined) input.max = String(p.max);
      input.value = String(p.value);
    }
    input.addEventListener('change', () => {
      input.dataset.editedAt = String(performance.now());
      const v =
        p.kind === 'boolean'
          ? input.checked
          : p.kind === 'string'
            ? input.value
            : Number(input.value);
      void source?.setParam(p.name, v);
    });
    label.append(`${p.name} `, input);
    ui.live.appendChild(label);
  }
  if (ui.live.childElementCount > 0) ui.live.prepend('live: ');
}

/** Nudge the first numeric live parameter by a factor (keys [ and ]). */
function nudgeLive(factor: number): void {
  if (isLocal(source)) {
    if (!form.nudge(factor)) say('this experiment has no live numeric parameter to nudge');
    return;
  }
  const input = ui.live.querySelector<HTMLInputElement>('input[type=number]');
  if (!input) return;
  const v = Number(input.value);
  input.value = String(Number((v === 0 ? 0.1 * factor : v * factor).toPrecision(6)));
  input.dispatchEvent(new Event('change'));
}

// ---------------------------------------------------------------- attach and replay

/**
 * The toolbar shows the experiment and seed of what is watched. A run's experiment that is not
 * in the list (or watched rather than run here) shows as its own entry, "name (replay)".
 */
function showRun(experiment: string, seed: number, how: 'replay' | 'attached'): void {
  dropRunOption();
  const opt = document.createElement('option');
  opt.value = RUN_OPTION;
  opt.dataset.run = experiment;
  opt.textContent = `${experiment} (${how})`;
  ui.experiment.prepend(opt);
  ui.experiment.value = RUN_OPTION;
  ui.seed.value = String(seed);
  ui.about.textContent = `${how === 'replay' ? 'replaying' : 'watching'} a run of ${experiment} (seed ${seed}); pick an experiment to run one here`;
  ui.params.hidden = true;
  ui.paramsToggle.setAttribute('aria-pressed', 'false');
}

const RUN_OPTION = '\u0000run';

function dropRunOption(): void {
  ui.experiment.querySelector(`option[value="${CSS.escape(RUN_OPTION)}"]`)?.remove();
}

async function startAttach(address: string): Promise<void> {
  say('');
  try {
    const { RemoteSource } = await import('./remote-source.ts');
    say(`connecting to ${address}…`);
    const remote = await RemoteSource.connect(address);
    use(remote);
    showRun(remote.experiment, remote.seed, 'attached');
    say(`attached to ${address}`);
    view.fit();
  } catch (err) {
    say(errorText(err), true);
  }
}

async function startReplay(
  buf: ArrayBuffer,
  name: string,
  metrics: readonly MetricRecord[] = [],
): Promise<void> {
  try {
    const rec = readRecording(buf, name);
    use(new ReplaySource(rec, metrics));
    showRun(rec.meta.experiment, rec.meta.seed, 'replay');
    view.fit();
    if (rec.truncated) say(`${name}: ${rec.truncated}`, true);
    else
      say(
        `replaying ${name}: ${rec.offsets.length} frames of ${rec.meta.experiment} (seed ${rec.meta.seed})`,
      );
  } catch (err) {
    say(errorText(err), true);
  }
}

async function fetchReplay(path: string): Promise<void> {
  try {
    const res = await fetch(
      `/@gibbs/runs/${path.replace(/^\/+/, '')}/frames.bin`.replace('/./', '/'),
    );
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    await startReplay(await res.arrayBuffer(), `${path}/frames.bin`, await fetchMetrics(path));
  } catch (err) {
    say(errorText(err), true);
  }
}

/** A run's metrics.jsonl (for the charts of a replay); none if missing or unreadable. */
async function fetchMetrics(path: string): Promise<MetricRecord[]> {
  try {
    const res = await fetch(
      `/@gibbs/runs/${path.replace(/^\/+/, '')}/metrics.jsonl`.replace('/./', '/'),
    );
    if (res.status !== 200) return [];
    const out: MetricRecord[] = [];
    for (const line of (await res.text()).split('\n')) {
      if (line.trim()) out.push(JSON.parse(line) as MetricRecord);
    }
    return out;
  } catch {
    return [];
  }
}

async function listRuns(): Promise<void> {
  // A static site has no runs directory: replay a frames.bin picked from disk instead.
  if (site === 'static') {
    ui.runs.hidden = true;
    return;
  }
  try {
    const res = await fetch('/@gibbs/runs');
    if (!res.ok) return;
    const runs = (await res.json()) as string[];
    for (const r of runs)
      ui.runs.append(Object.assign(document.createElement('option'), { value: r, textContent: r }));
  } catch {
    // No runs directory: the list stays empty.
  }
}

// ---------------------------------------------------------------- inspector and pointer input

const inspector = new Inspector(ui.inspector, (ref) => select(ref));
const legend = new Legend(ui.legend);

function select(ref: AgentRef | null): void {
  selected = ref;
  lastInspection = null;
  ui.follow.disabled = ref === null;
  view.highlight(ref);
  if (!ref) return;
  if (view.following) view.follow(ref);
  refreshInspection(true);
}

/**
 * Inspection requests: a selection asks at once, a drawn frame at most every INSPECT_MS; while one
 * is being answered the others are dropped (exhaustMap), so a slow inspect never queues up.
 */
const INSPECT_MS = 200;
const inspectAsked$ = new Subject<'now' | 'frame'>();
merge(
  inspectAsked$.pipe(filter((why) => why === 'now')),
  inspectAsked$.pipe(
    filter((why) => why === 'frame'),
    throttleTime(INSPECT_MS),
  ),
)
  .pipe(exhaustMap(() => from(inspectSelected())))
  .subscribe();

function refreshInspection(force = false): void {
  if (selected && source) inspectAsked$.next(force ? 'now' : 'frame');
}

async function inspectSelected(): Promise<void> {
  const ref = selected;
  if (!ref || !source) return;
  try {
    const asked = await source.inspect(ref.group, ref.slot);
    if (selected !== ref) return;
    // Without inspect, the inspector shows what the frame holds for that agent.
    const f = view.frame;
    const ins = asked ?? inspectFromFrame(f, ref.group, ref.slot);
    lastInspection = ins;
    const i = agentIndex(f, ref.group, ref.slot);
    if (ins)
      inspector.showAgent(ins, ref.group, {
        hp: f && i >= 0 ? f.agents.hp[i] : null,
        fromFrame: asked === null,
      });
    else
      inspector.message(
        `${f?.groups[ref.group] ?? `group ${ref.group}`} #${ref.slot} is not alive (not in the frame)`,
      );
  } catch (err) {
    inspector.message(errorText(err));
  }
}

function cellUnder(e: { clientX: number; clientY: number }): [number, number] | null {
  const r = ui.stage.getBoundingClientRect();
  return view.cellAt(e.clientX - r.left, e.clientY - r.top);
}

attachGestures(ui.stage, view, {
  // A selected agent keeps the inspector; hovering shows cells only when none is.
  hover: (e) => {
    if (!selected) hover(e);
  },
  click: (e) => click(e),
});

function hover(e: { clientX: number; clientY: number }): void {
  const f = view.frame;
  const cell = cellUnder(e);
  if (!f || !cell) return;
  inspector.showCell(f, cell[0], cell[1], agentsAt(f, cell[0], cell[1]));
}

function click(e: { clientX: number; clientY: number }): void {
  const f = view.frame;
  const cell = cellUnder(e);
  if (!f || !cell) return;
  const at = agentsAt(f, cell[0], cell[1]);
  if (at.length === 1) select({ group: f.agents.group[at[0]], slot: f.agents.slot[at[0]] });
  else {
    select(null);
    inspector.showCell(f, cell[0], cell[1], at);
  }
}

// ---------------------------------------------------------------- snapshot and recording

/** What is shown, for export file names: the run's experiment and its step now. */
function exportStem(): string {
  return exportName(status?.experiment ?? (ui.experiment.value || 'run'), status?.step ?? 0);
}

/** Start recording the stage (a live run or a replay, as it plays), named by its first step. */
function startRecording(): void {
  if (!view.frame) {
    say('nothing to record yet: start an experiment, attach or replay a run first');
    return;
  }
  try {
    recording = { rec: CanvasRecording.start(view.canvas, 30), name: `${exportStem()}.webm` };
  } catch (err) {
    say(errorText(err), true);
    return;
  }
  ui.record.setAttribute('aria-pressed', 'true');
  say(`recording the stage to ${recording.name}: record (v) again stops and downloads it`);
  renderStats();
}

async function stopRecording(why?: string): Promise<void> {
  const r = recording;
  if (!r) return;
  recording = null;
  ui.record.setAttribute('aria-pressed', 'false');
  ui.record.textContent = 'record';
  try {
    const blob = await r.rec.stop();
    download(blob, r.name);
    say(
      `saved ${r.name} (${r.rec.seconds.toFixed(1)} s, ${(blob.size / 2 ** 20).toFixed(2)} MiB)${why ? `: recording stopped, ${why}` : ''}`,
    );
  } catch (err) {
    say(`recording failed: ${errorText(err)}`, true);
  }
}

function toggleRecording(): void {
  if (recording) void stopRecording();
  else startRecording();
}

async function snapshot(): Promise<void> {
  try {
    const name = `${exportStem()}.png`;
    download(await snapshotPng(view), name);
    say(`saved ${name}`);
  } catch (err) {
    say(errorText(err), true);
  }
}

ui.record.addEventListener('click', toggleRecording);
ui.snapshot.addEventListener('click', () => void snapshot());

/** The last replay encoded for `gibbs video`, handed out in pieces. */
let encoded: EncodedVideo | null = null;

// ---------------------------------------------------------------- controls and keys

const SPEEDS = [...ui.speed.options].map((o) => Number(o.value));

function togglePlay(): void {
  if (!source) return;
  if (/is ready at step 0/.test(ui.message.textContent ?? '')) say('');
  if (status?.running) source.pause();
  else source.play();
}

function bumpSpeed(dir: 1 | -1): void {
  const order = SPEEDS.map((s) => (s === 0 ? Number.POSITIVE_INFINITY : s));
  const cur = order.indexOf(
    Number(ui.speed.value) === 0 ? Number.POSITIVE_INFINITY : Number(ui.speed.value),
  );
  const next = Math.max(0, Math.min(order.length - 1, cur + dir));
  ui.speed.value = String(SPEEDS[next]);
  source?.setSpeed(SPEEDS[next]);
}

ui.play.addEventListener('click', togglePlay);
ui.step.addEventListener('click', () => void source?.step(1));
ui.speed.addEventListener('change', () => source?.setSpeed(Number(ui.speed.value)));
ui.start.addEventListener('click', () => void startLocal(false));

/** Download the run's latest checkpoint as a tar (`tar -xf` gives its checkpoint directory). */
ui.ckSave.addEventListener('click', async () => {
  const src = source;
  if (!src?.checkpoint) return;
  try {
    const bytes = await src.checkpoint();
    if (!bytes) {
      say(
        `${status?.experiment ?? 'this run'} has no checkpoint yet (one is taken every checkpointEvery rounds)`,
      );
      return;
    }
    const a = document.createElement('a');
    a.href = URL.createObjectURL(
      new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/x-tar' }),
    );
    a.download = `${status?.experiment ?? 'run'}-step${status?.step ?? 0}.tar`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    say(`saved ${a.download} (${(bytes.length / 2 ** 20).toFixed(1)} MiB)`);
  } catch (err) {
    say(errorText(err), true);
  }
});

/** Continue from a checkpoint file: the experiment shown is made anew from it, paused. */
ui.ckLoad.addEventListener('change', async () => {
  const file = ui.ckLoad.files?.[0];
  ui.ckLoad.value = '';
  if (!file) return;
  await startLocal(false, new Uint8Array(await file.arrayBuffer()));
  if (source) say(`${ui.experiment.value} continues from ${file.name}: press play (space)`);
});
ui.fit.addEventListener('click', () => view.fit());
ui.follow.addEventListener('click', () => {
  view.follow(view.following ? null : selected);
  ui.follow.setAttribute('aria-pressed', String(view.following !== null));
});
ui.paramsToggle.addEventListener('click', () => {
  ui.params.hidden = !ui.params.hidden;
  ui.paramsToggle.setAttribute('aria-pressed', String(!ui.params.hidden));
});
/** Picking an experiment loads it, paused at step 0: play runs what is shown. */
async function pick(): Promise<void> {
  if (ui.experiment.value === RUN_OPTION) return;
  dropRunOption();
  ui.params.hidden = false;
  ui.paramsToggle.setAttribute('aria-pressed', 'true');
  try {
    await renderParamsForm({});
  } catch (err) {
    use(null);
    say(errorText(err), true);
    return;
  }
  await startLocal(false);
}
ui.experiment.addEventListener('change', () => void pick());
ui.thread.addEventListener('change', () => void startLocal(false));

function toggleHelp(show = ui.help.hidden): void {
  ui.help.hidden = !show;
}
ui.helpToggle.addEventListener('click', () => toggleHelp());
ui.helpClose.addEventListener('click', () => toggleHelp(false));
ui.help.addEventListener('click', (e) => {
  if (e.target === ui.help) toggleHelp(false);
});
ui.attachGo.addEventListener('click', () => void startAttach(ui.attach.value.trim()));
ui.runs.addEventListener('change', () => {
  if (ui.runs.value) void fetchReplay(ui.runs.value);
});
ui.replayFile.addEventListener('change', async () => {
  const file = ui.replayFile.files?.[0];
  if (file) await startReplay(await file.arrayBuffer(), file.name);
});
ui.scrub.addEventListener('input', () => source?.seek?.(Number(ui.scrub.value)));

renderKeyTable(ui.helpKeys);
bindKeys(window, {
  play: togglePlay,
  step: () => void source?.step(1),
  faster: () => bumpSpeed(1),
  slower: () => bumpSpeed(-1),
  reset: () => void startLocal(false),
  fit: () => view.fit(),
  follow: () => ui.follow.click(),
  nudgeDown: () => nudgeLive(1 / 1.05),
  nudgeUp: () => nudgeLive(1.05),
  help: () => toggleHelp(),
  escape: () => {
    if (!ui.help.hidden) toggleHelp(false);
    else select(null);
  },
  record: toggleRecording,
  snapshot: () => void snapshot(),
  agents: () => {
    view.agentsMode = view.agentsMode === 'auto' ? 'on' : view.agentsMode === 'on' ? 'off' : 'auto';
    say(`agents drawn one by one: ${view.agentsMode}`);
  },
});

// ---------------------------------------------------------------- start

/** Run `fn` on every tick; one that throws is reported and the ticks go on. */
const onTick = (tick$: Observable<unknown>, fn: () => void) =>
  tick$.subscribe(() => {
    try {
      fn();
    } catch (err) {
      reportError(err);
    }
  });
onTick(interval(250), renderStats);
// The charts have their own loop: they do not depend on the renderer's frame loop.
onTick(animationFrames(), () => charts.maybeRedraw());

/** Hooks for the browser tests and for a curious console user. */
/** What the page shows its browser tests (and headless tools) on `window.gibbs`; typed for them. */
const hooks = {
  view,
  get source() {
    return source;
  },
  get status() {
    return status;
  },
  get inspection() {
    return lastInspection;
  },
  get lastMetric() {
    return lastMetric;
  },
  get frame(): RenderFrame | null {
    return view.frame;
  },
  charts: () => charts.lengths(),
  chartInfo: () => charts.info(),
  chartMetrics: () => charts.metrics(),
  chartCsv: (title: string) => charts.csvOf(title),
  pushMetrics: (rs: MetricRecord[]) => charts.push(rs),
  /**
   * `gibbs video`: encode replay frames `indices` at `fps` into a WebM held in the page; its bytes
   * come out with `videoChunk`. Progress goes to `window.gibbsVideoProgress` where one is exposed.
   */
  encodeReplay: async (opts: { indices: number[]; fps: number; bitrate?: number }) => {
    const src = source;
    if (src?.kind !== 'replay' || !src.seek) throw new Error('no replay is shown');
    src.pause();
    const progress = (window as { gibbsVideoProgress?: (done: number, total: number) => void })
      .gibbsVideoProgress;
    encoded = null;
    encoded = await encodeReplay(view, (i) => src.seek?.(i), { ...opts, onProgress: progress });
    const { bytes, ...info } = encoded;
    return { ...info, size: bytes.length };
  },
  videoChunk: (offset: number, length: number): string =>
    encoded ? base64Of(encoded.bytes, offset, length) : '',
  select,
  cellToScreen: (x: number, y: number): [number, number] => {
    const r = ui.stage.getBoundingClientRect();
    const [sx, sy] = view.cellToScreen(x, y);
    return [sx + r.left, sy + r.top];
  },
};
export type GibbsPageHooks = typeof hooks;
Object.assign(window, { gibbs: hooks });

if (url.get('layout') === 'stage') document.body.classList.add('stage-only');
fillExperiments();
ui.follow.disabled = true;
void listRuns();
const attach = url.get('attach') ?? defaults.attach;
const replay = url.get('replay') ?? defaults.replay;
if (url.get('speed')) ui.speed.value = url.get('speed')!;
try {
  if (ui.experiment.value) await renderParamsForm(urlParams());
} catch (err) {
  say(errorText(err), true);
}
if (attach) {
  ui.attach.value = attach;
  await startAttach(attach);
} else if (replay) await fetchReplay(replay);
// A page opened with an experiment starts paused at step 0 (autoplay=1 plays at the chosen speed).
else if (ui.experiment.value) await startLocal(url.get('autoplay') === '1');
document.body.dataset.ready = 'true';
