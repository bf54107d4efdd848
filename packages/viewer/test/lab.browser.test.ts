/**
 * Issue 13's reproductions as browser tests (Debian chromium, headless, pixi on WebGL): a page
 * that does what its buttons say, charts for everything, the inspector and the map, the renderer
 * fallback. Screenshots land in test-output/viewer/.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricRecord, RenderFrame } from '@gibbs/core';
import { experimentUrl } from '@gibbs/experiments';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_BUCKETS } from '../src/history.ts';
import { cssColour, groupColour, legendColour } from '../src/palette.ts';
import { encodeFrame, encodeHeader } from '../src/recording.ts';
import { startViewerServer, type ViewerServer } from '../src/server.ts';
import { collectErrors, launchChromium, outputPath, pngPixels } from './browser.ts';
import walkers from './fixtures/walkers.ts';

const WALKERS = resolve(import.meta.dirname, 'fixtures/walkers.ts');
const PLAIN = resolve(import.meta.dirname, 'fixtures/plain.ts');
const builtin = (name: string) => fileURLToPath(experimentUrl(name));

let server: ViewerServer;
let browser: Browser;
let runsDir: string;

interface PageStatus {
  experiment: string;
  step: number;
  running: boolean;
  failed: string | null;
  kind: string;
  speed: number;
  replay?: { frames: number; index: number };
}

interface Hooks {
  status: PageStatus | null;
  frame: RenderFrame | null;
  lastMetric: MetricRecord | null;
  view: { framesDrawn: number; droppedFrames: number };
}

const hooks = (page: Page): Promise<Hooks> =>
  page.evaluate(() => {
    const g = window.gibbs;
    return {
      status: g.status,
      frame: g.frame,
      lastMetric: g.lastMetric,
      view: { framesDrawn: g.view.framesDrawn, droppedFrames: g.view.droppedFrames },
    };
  });
const status = (page: Page) => page.evaluate(() => window.gibbs.status);

async function open(query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = collectErrors(page);
  await page.goto(`${server.url}?${query}`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, {
    timeout: 90_000,
  });
  return { page, errors };
}

/** Wait until the page's status satisfies `pred` (a function of the status, run in the page). */
async function waitStatus(page: Page, pred: string, timeout = 60_000): Promise<void> {
  await page.waitForFunction(
    (src) => {
      const s = window.gibbs.status;
      return s !== null && (new Function('s', `return ${src}`) as (s: PageStatus) => boolean)(s);
    },
    pred,
    { timeout },
  );
}

const chartInfo = (page: Page) => page.evaluate(() => window.gibbs.chartInfo());

/** Pixels of a chart's canvas close to a colour (the replay cursor is #ffd43b). */
const pixelsLike = (page: Page, title: string, rgb: [number, number, number]) =>
  page.evaluate(
    ([title, rgb]) => {
      const c = document.querySelector<HTMLCanvasElement>(`.chart[data-title="${title}"] canvas`);
      if (!c) return { count: -1, xs: [] as number[] };
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let count = 0;
      const xs = new Set<number>();
      for (let i = 0; i < d.length; i += 4) {
        if (
          Math.abs(d[i] - rgb[0]) < 12 &&
          Math.abs(d[i + 1] - rgb[1]) < 12 &&
          Math.abs(d[i + 2] - rgb[2]) < 12
        ) {
          count++;
          xs.add((i / 4) % c.width);
        }
      }
      return { count, xs: [...xs] };
    },
    [title, rgb] as const,
  );

/** A recording of the walkers world: `n` frames of a `width` x `height` grid. */
async function writeRun(
  dir: string,
  n: number,
  opts: { width?: number; height?: number; experiment?: string; metrics?: boolean } = {},
): Promise<void> {
  const params = { width: opts.width ?? 48, height: opts.height ?? 32, agents: 40 };
  const sim = await walkers.create({ params: walkers.params.parse(params), seed: 4 });
  const parts: Uint8Array[] = [
    encodeHeader({ experiment: opts.experiment ?? 'walkers', seed: 4, params, every: 1 }),
  ];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    await sim.advance();
    parts.push(encodeFrame(sim.frame()!, i === 0));
    const m = sim.metrics();
    // metrics.jsonl as some writers leave it: group keys sorted (blue before red).
    lines.push(JSON.stringify({ ...m, groups: { blue: m.groups.blue, red: m.groups.red } }));
  }
  mkdirSync(join(runsDir, dir), { recursive: true });
  writeFileSync(join(runsDir, dir, 'frames.bin'), Buffer.concat(parts));
  if (opts.metrics !== false)
    writeFileSync(join(runsDir, dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
}

beforeAll(async () => {
  runsDir = mkdtempSync(join(tmpdir(), 'gibbs-viewer-lab-'));
  server = await startViewerServer({
    experiments: {
      walkers: WALKERS,
      plain: PLAIN,
      ising: builtin('ising'),
      'aif-forage': builtin('aif-forage'),
      battle: builtin('battle'),
    },
    runsDir,
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('issue 13: a page that does what its buttons say', { timeout: 240_000 }, () => {
  it('a page opened with an experiment starts paused at step 0', async () => {
    const { page, errors } = await open('experiment=walkers&seed=1');
    await waitStatus(page, "s.experiment === 'walkers'");
    await page.waitForTimeout(1000);
    const s = (await status(page))!;
    expect(s.running).toBe(false);
    expect(s.step).toBe(0);
    // Never at max: the speed a play starts with is a sane one.
    expect(Number(await page.inputValue('#speed'))).toBeGreaterThan(0);
    expect(await page.textContent('#play')).toBe('play');
    await page.screenshot({ path: outputPath('lab-starts-paused.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('picking an experiment loads it paused with its description and parameters; play runs it', async () => {
    const { page, errors } = await open('experiment=walkers&seed=1');
    await waitStatus(page, "s.experiment === 'walkers'");
    await page.selectOption('#experiment', 'plain');
    await waitStatus(page, "s.experiment === 'plain' && s.step === 0 && !s.running");
    expect(await page.textContent('#about')).toMatch(/walkers without inspect/);
    // Every parameter of its schema is a control: numbers with a slider, the enum a select.
    for (const name of ['width', 'height', 'agents', 'mode', 'bias'])
      expect(await page.locator(`#params [data-param="${name}"]`).count(), name).toBe(1);
    expect(await page.locator('#params [data-param="width"] input[type=range]').count()).toBe(1);
    expect(await page.locator('#params [data-param="mode"] select').count()).toBe(1);
    expect(await page.isVisible('#params')).toBe(true);
    await page.screenshot({ path: outputPath('lab-picked.png') });
    await page.click('#play');
    await waitStatus(page, "s.experiment === 'plain' && s.step >= 3");
    expect(await page.inputValue('#experiment')).toBe('plain');
    await page.click('#play');
    await waitStatus(page, '!s.running');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('parameters: live ones apply at once, the others on reset, and the page says so', async () => {
    const { page, errors } = await open('experiment=walkers&seed=3');
    await waitStatus(page, "s.experiment === 'walkers'");
    expect(await page.textContent('#params .params-note')).toMatch(/live apply at once/);
    await page.fill('#params input[name="width"]', '40');
    await page.press('#params input[name="width"]', 'Tab');
    expect(await page.textContent('#params .params-note')).toMatch(
      /changed: width.*apply on reset/,
    );
    expect(await page.getAttribute('#start', 'class')).toMatch(/pending/);
    // The live temperature applies without a reset.
    await page.fill('#params input[name="temperature"]', '0.5');
    await page.press('#params input[name="temperature"]', 'Enter');
    await page.locator('#stage').click({ position: { x: 3, y: 3 } });
    await page.keyboard.press('.');
    await page.waitForFunction(() => window.gibbs.lastMetric?.values.temperature === 0.5, null, {
      timeout: 30_000,
    });
    expect((await hooks(page)).frame!.width).toBe(48);
    await page.screenshot({ path: outputPath('lab-params-pending.png') });
    await page.keyboard.press('r');
    await page.waitForFunction(() => window.gibbs.frame?.width === 40);
    expect(await page.textContent('#params .params-note')).not.toMatch(/changed/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('[ and ] presses are never lost', async () => {
    const { page, errors } = await open('experiment=walkers&seed=3&speed=60&autoplay=1');
    await waitStatus(page, 's.running && s.step >= 2');
    await page.locator('#stage').click({ position: { x: 3, y: 3 } });
    for (let i = 0; i < 20; i++) await page.keyboard.press(']');
    for (let i = 0; i < 6; i++) await page.keyboard.press('[');
    const want = Number((1.05 ** 20 / 1.05 ** 6).toPrecision(3));
    await page.waitForFunction(
      (w) => {
        const t = window.gibbs.lastMetric?.values.temperature;
        return t !== undefined && Math.abs(t - w) < 0.01;
      },
      want,
      { timeout: 30_000 },
    );
    await page.waitForTimeout(1500);
    const shown = Number(await page.inputValue('#params input[name="temperature"]'));
    expect(shown).toBeCloseTo(want, 2);
    expect((await hooks(page)).lastMetric!.values.temperature).toBeCloseTo(want, 2);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a legend of the cells and groups, and a help overlay on ?', async () => {
    const { page, errors } = await open('experiment=walkers&seed=3');
    await page.waitForSelector('#legend li[data-code]');
    const f = (await hooks(page)).frame!;
    expect(await page.locator('#legend li[data-code]').count()).toBe(f.legend.length);
    expect(await page.locator('#legend li[data-group]').count()).toBe(f.groups.length);
    expect(await page.isVisible('#help')).toBe(false);
    await page.locator('#stage').click({ position: { x: 3, y: 3 } });
    await page.keyboard.press('?');
    expect(await page.isVisible('#help')).toBe(true);
    expect(await page.textContent('#help')).toMatch(/play \/ pause/);
    await page.screenshot({ path: outputPath('lab-help.png') });
    await page.keyboard.press('Escape');
    expect(await page.isVisible('#help')).toBe(false);
    await page.screenshot({ path: outputPath('lab-legend.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a replay: the dropdown names its run, the slider keeps its width, max speed draws every frame', async () => {
    await writeRun('big', 24, { width: 1024, height: 1024, experiment: 'battle' });
    const { page, errors } = await open('experiment=walkers&seed=1&replay=big');
    await waitStatus(page, "s.kind === 'replay'");
    const picked = await page.$eval(
      '#experiment',
      (el) => (el as HTMLSelectElement).selectedOptions[0]?.textContent ?? '',
    );
    expect(picked).toBe('battle (replay)');
    // The slider's width does not depend on the status text.
    const widths = await page.evaluate(() => {
      const scrub = document.getElementById('scrub')!;
      const stats = document.getElementById('stats')!;
      const before = scrub.getBoundingClientRect().width;
      stats.textContent = 'a long status line '.repeat(30);
      const after = scrub.getBoundingClientRect().width;
      return { before, after };
    });
    expect(widths.after).toBe(widths.before);
    // A click near its right end goes near the end.
    const box = (await page.locator('#scrub').boundingBox())!;
    await page.mouse.click(box.x + box.width - 4, box.y + box.height / 2);
    await waitStatus(page, 's.replay.index >= 21');
    // Max speed: every recorded frame is drawn, none replaced unseen.
    await page.locator('#scrub').fill('0');
    await waitStatus(page, 's.replay.index === 0');
    await page.selectOption('#speed', '0');
    const before = await hooks(page);
    await page.click('#play');
    await waitStatus(page, 's.replay.index === 23 && !s.running', 120_000);
    const after = await hooks(page);
    expect(after.view.droppedFrames - before.view.droppedFrames).toBe(0);
    expect(after.view.framesDrawn - before.view.framesDrawn).toBeGreaterThanOrEqual(23);
    await page.screenshot({ path: outputPath('lab-replay.png') });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('issue 13: charts for everything', { timeout: 240_000 }, () => {
  it('a custom metric (run-wide, per group, per episode) is charted from the picker', async () => {
    const { page, errors } = await open('experiment=plain&seed=2&speed=240&autoplay=1');
    await waitStatus(page, 's.step >= 120');
    await page.keyboard.press(' ');
    await waitStatus(page, '!s.running');
    const offered = await page.$$eval('.chart-pick option', (os) =>
      os.map((o) => (o as HTMLOptionElement).value),
    );
    expect(offered).toEqual(
      expect.arrayContaining(['v:kin_share', 'g:kin_share', 'e:kin_share_final']),
    );
    await page.selectOption('.chart-pick', 'v:kin_share');
    await page.selectOption('.chart-pick', 'g:kin_share');
    await page.selectOption('.chart-pick', 'e:kin_share_final');
    await page.waitForSelector('.chart[data-title="kin_share per group"] canvas');
    await page.waitForSelector('.chart[data-title="episode kin_share_final"] canvas');
    const info = await chartInfo(page);
    const perGroup = info.find((p) => p.title === 'kin_share per group')!;
    expect(perGroup.series.map((x) => [x.label, x.colour])).toEqual([
      ['red', cssColour(groupColour(0))],
      ['blue', cssColour(groupColour(1))],
    ]);
    expect(info.find((p) => p.title === 'kin_share')!.last).toBeGreaterThanOrEqual(120);
    expect(info.find((p) => p.title === 'episode kin_share_final')!.buckets).toBeGreaterThanOrEqual(
      2,
    );
    // The picker no longer offers what is shown.
    const left = await page.$$eval('.chart-pick option', (os) =>
      os.map((o) => (o as HTMLOptionElement).value),
    );
    expect(left).not.toContain('v:kin_share');
    // Smoothing, the x axis by episode.
    await page.locator('.chart-smooth input').fill('0.9');
    await page.selectOption('.chart-x', 'episode');
    await page.waitForTimeout(800);
    await page.locator('.chart[data-title="kin_share"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: outputPath('lab-custom-metric.png') });
    // Downloads: the data as CSV, the chart as PNG.
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.click('.chart[data-title="kin_share"] .chart-csv'),
    ]);
    expect(csv.suggestedFilename()).toBe('kin_share.csv');
    const text = readFileSync(await csv.path(), 'utf8');
    expect(text.split('\n')[0]).toBe(
      'step_first,step_last,episode_first,episode_last,records,kin_share mean,kin_share min,kin_share max',
    );
    expect(text.trim().split('\n').length).toBeGreaterThan(100);
    const [png] = await Promise.all([
      page.waitForEvent('download'),
      page.click('.chart[data-title="kin_share"] .chart-png'),
    ]);
    expect(png.suggestedFilename()).toBe('kin_share.png');
    const bytes = readFileSync(await png.path());
    expect([...bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join('')).toBe('PNG');
    // A reset keeps the charts chosen and the smoothing.
    await page.locator('#stage').click({ position: { x: 3, y: 3 } });
    await page.keyboard.press('r');
    await waitStatus(page, 's.step === 0');
    await page.keyboard.press('.');
    await page.waitForSelector('.chart[data-title="kin_share"] canvas');
    expect(await page.inputValue('.chart-smooth input')).toBe('0.9');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the chart history survives 100k steps: bounded, from step 1, spikes kept, axes in k', async () => {
    const { page, errors } = await open('experiment=plain&seed=2');
    await waitStatus(page, "s.experiment === 'plain'");
    // 100k records in batches of 500, as a worker delivers them.
    await page.evaluate(() => {
      const g = window.gibbs;
      for (let b = 0; b < 200; b++) {
        const rs: MetricRecord[] = [];
        for (let i = 1; i <= 500; i++) {
          const step = b * 500 + i;
          rs.push({
            step,
            episode: Math.floor(step / 1000),
            values: {
              kin_share: step === 77_777 ? 5 : Math.sin(step / 300),
              big_count: 100_000 + step,
            },
            groups: { red: { alive: 100_000 - step / 2 }, blue: { alive: 100_000 - step / 3 } },
          });
        }
        g.pushMetrics(rs);
      }
    });
    await page.selectOption('.chart-pick', 'v:kin_share');
    await page.selectOption('.chart-pick', 'v:big_count');
    await page.waitForTimeout(800);
    const info = await chartInfo(page);
    const kin = info.find((p) => p.title === 'kin_share')!;
    expect(kin.buckets).toBeLessThanOrEqual(HISTORY_BUCKETS);
    expect(kin.first).toBe(1);
    expect(kin.last).toBe(100_000);
    const csv = await page.evaluate(() => window.gibbs.chartCsv('kin_share'));
    expect(csv).not.toBeNull();
    const maxes = (csv ?? '')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[7]));
    expect(Math.max(...maxes)).toBe(5);
    await page.locator('.chart[data-title="alive per group"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: outputPath('lab-history-100k.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Ising: energy against Onsager and the free energy', async () => {
    const { page, errors } = await open('experiment=ising&seed=1&speed=240&autoplay=1');
    await waitStatus(page, 's.step >= 30', 90_000);
    await page.keyboard.press(' ');
    await page.waitForSelector('.chart[data-title="free energy"] canvas');
    const info = await chartInfo(page);
    const energy = info.find((p) => p.title === 'energy vs Onsager')!;
    expect(energy.series.map((x) => x.label).sort()).toEqual(['energy', 'exact_energy']);
    const free = info.find((p) => p.title === 'free energy')!;
    expect(free.series.map((x) => x.label)).toEqual(['exact_free_energy']);
    await page.screenshot({ path: outputPath('lab-ising-charts.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('active inference: F and the parts of the expected free energy', async () => {
    const { page, errors } = await open('experiment=aif-forage&seed=1&speed=240&autoplay=1');
    await waitStatus(page, 's.step >= 5', 120_000);
    await page.keyboard.press(' ');
    await page.waitForSelector('.chart[data-title="EFE parts"] canvas');
    const info = await chartInfo(page);
    const free = info.find((p) => p.title === 'free energy')!;
    expect(free.series.map((x) => x.label)).toEqual(expect.arrayContaining(['free_energy', 'efe']));
    const parts = info.find((p) => p.title === 'EFE parts')!;
    expect(parts.series.map((x) => x.label)).toEqual(
      expect.arrayContaining(['efe_utility', 'efe_state_info_gain']),
    );
    await page.locator('.chart[data-title="EFE parts"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: outputPath('lab-aif-charts.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a replay: a cursor marks the step shown; group colours follow the map, not sorted keys', async () => {
    await writeRun('cursor', 40);
    const { page, errors } = await open('replay=cursor');
    await waitStatus(page, "s.kind === 'replay'");
    await page.waitForSelector('.chart[data-title="reward per group"] canvas');
    const info = await chartInfo(page);
    const reward = info.find((p) => p.title === 'reward per group')!;
    expect(reward.series.map((x) => [x.label, x.colour])).toEqual([
      ['red', cssColour(groupColour(0))],
      ['blue', cssColour(groupColour(1))],
    ]);
    await page.locator('#scrub').fill('5');
    await waitStatus(page, 's.replay.index === 5');
    await page.waitForTimeout(500);
    const at5 = await pixelsLike(page, 'reward per group', [255, 212, 59]);
    await page.locator('#scrub').fill('35');
    await waitStatus(page, 's.replay.index === 35');
    await page.waitForTimeout(500);
    const at35 = await pixelsLike(page, 'reward per group', [255, 212, 59]);
    expect(at5.count).toBeGreaterThan(20);
    expect(at35.count).toBeGreaterThan(20);
    expect(Math.min(...at35.xs)).toBeGreaterThan(Math.max(...at5.xs));
    await page.screenshot({ path: outputPath('lab-replay-cursor.png') });
    expect(errors).toEqual([]);
    await page.close();
  });
});

/** Screen position of an agent's cell centre (the page's own camera). */
const agentOnScreen = (page: Page, group: number, slot: number) =>
  page.evaluate(
    ([group, slot]) => {
      const g = window.gibbs;
      const a = g.frame!.agents;
      for (let i = 0; i < a.count; i++)
        if (a.group[i] === group && a.slot[i] === slot)
          return g.cellToScreen(Math.floor(a.x[i]), Math.floor(a.y[i]));
      return null;
    },
    [group, slot] as const,
  );

describe('issue 13: inspector and map', { timeout: 240_000 }, () => {
  it('bars are signed around zero; a long distribution is sorted, top 10 and the rest on demand', async () => {
    const { page, errors } = await open('experiment=walkers&seed=5');
    await page.waitForFunction(() => window.gibbs.frame !== null);
    await page.evaluate(() => window.gibbs.select({ group: 1, slot: 2 }));
    await page.waitForSelector('[data-dist="minus_G"] .bar');
    const values = Array.from({ length: 25 }, (_, k) => ((k * 7) % 25) - 20);
    const bars = () =>
      page.$$eval('[data-dist="minus_G"] .bar', (els) =>
        els.map((e) => ({
          entry: Number((e as HTMLElement).dataset.entry),
          left: Number.parseFloat((e as HTMLElement).style.left),
          width: Number.parseFloat((e as HTMLElement).style.width),
          neg: e.classList.contains('neg'),
        })),
      );
    const zero = await page.$eval('[data-dist="minus_G"] .zero', (e) =>
      Number.parseFloat((e as HTMLElement).style.left),
    );
    // Zero sits where it falls between the smallest (-20) and the largest (4) value.
    expect(zero).toBeCloseTo((100 * 20) / 24, 0);
    const top = await bars();
    expect(top).toHaveLength(10);
    // Sorted, largest first.
    const shown = top.map((b) => values[b.entry]);
    expect(shown).toEqual([...values].sort((a, b) => b - a).slice(0, 10));
    for (const b of top) {
      const v = values[b.entry];
      if (v < 0) {
        expect(b.neg).toBe(true);
        expect(b.left + b.width).toBeCloseTo(zero, 0);
      } else expect(b.left).toBeCloseTo(zero, 0);
      expect(b.width).toBeCloseTo((100 * Math.abs(v)) / 24, 0);
    }
    await page.click('[data-expand="minus_G"]');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-dist="minus_G"] .bar').length === 25,
    );
    // The worst entry: the longest bar, and it points left of zero.
    const whole = await bars();
    const worst = whole.find((b) => values[b.entry] === -20)!;
    expect(worst.neg).toBe(true);
    expect(worst.left).toBeCloseTo(0, 0);
    // Still expanded after the inspector refreshes.
    await page.keyboard.press('.');
    await page.waitForTimeout(800);
    expect((await bars()).length).toBe(25);
    await page.screenshot({ path: outputPath('lab-inspector-signed-bars.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the selected agent is ringed on the map', async () => {
    const { page, errors } = await open('experiment=walkers&seed=5');
    await page.waitForFunction(() => window.gibbs.frame !== null);
    await page.waitForTimeout(500);
    const [sx, sy] = (await agentOnScreen(page, 0, 4))!;
    await page.mouse.click(sx, sy);
    await page.waitForSelector('[data-agent="red#4"]');
    await page.waitForTimeout(500);
    const png = await page.screenshot({ path: outputPath('lab-selected-ring.png') });
    // Pixels on a circle around the agent: some of them are the ring's yellow.
    const points: [number, number][] = [];
    for (let r = 6; r <= 16; r++)
      for (let k = 0; k < 16; k++)
        points.push([sx + r * Math.cos((k * Math.PI) / 8), sy + r * Math.sin((k * Math.PI) / 8)]);
    const px = await pngPixels(page, png, points);
    const yellow = px.filter(([r, g, b]) => r > 220 && g > 180 && g < 235 && b < 110).length;
    expect(yellow).toBeGreaterThan(8);
    // Unselected: no ring.
    await page.keyboard.press('Escape');
    await page.waitForTimeout(500);
    const after = await pngPixels(page, await page.screenshot(), points);
    expect(after.filter(([r, g, b]) => r > 220 && g > 180 && g < 235 && b < 110).length).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('without inspect, the inspector shows what the frame holds', async () => {
    const { page, errors } = await open('experiment=plain&seed=5');
    await page.waitForFunction(() => window.gibbs.frame !== null);
    await page.locator('#stage').click({ position: { x: 3, y: 3 } });
    await page.keyboard.press('.');
    await page.waitForFunction(() => window.gibbs.frame?.step === 1);
    await page.waitForTimeout(300);
    const [sx, sy] = (await agentOnScreen(page, 1, 3))!;
    await page.mouse.click(sx, sy);
    await page.waitForSelector('[data-agent="blue#3"]');
    expect(await page.textContent('#inspector')).toMatch(/what the frame holds/);
    expect(await page.textContent('#inspector')).not.toMatch(/not alive/);
    for (const key of ['x', 'y', 'hp', 'action', 'reward'])
      expect(await page.locator(`#inspector td[data-key="${key}"]`).count(), key).toBe(1);
    await page.screenshot({ path: outputPath('lab-inspector-from-frame.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('battle: one hp scale in the hover list and the inspector, actions by name', async () => {
    const { page, errors } = await open('experiment=battle&seed=1');
    await page.waitForFunction(() => window.gibbs.frame !== null, null, {
      timeout: 60_000,
    });
    await page.locator('#stage').click({ position: { x: 3, y: 3 } });
    await page.keyboard.press('.');
    await page.keyboard.press('.');
    await page.waitForFunction(() => window.gibbs.frame?.step === 2, null, {
      timeout: 60_000,
    });
    await page.waitForTimeout(300);
    const [sx, sy] = (await agentOnScreen(page, 0, 0))!;
    await page.mouse.move(sx, sy);
    await page.waitForSelector('#inspector tr.pick');
    const hover = (await page.textContent('#inspector tr.pick td[data-hp]'))!;
    expect(hover).toMatch(/^hp \d+%$/);
    await page.mouse.click(sx, sy);
    await page.waitForSelector('[data-agent="red#0"]');
    const hp = (await page.textContent('#inspector td[data-key="hp"]'))!;
    // The same percentage, with battle's own figure (out of 10) beside it.
    expect(hp.startsWith(hover.slice(3))).toBe(true);
    expect(hp).toMatch(/^\d+% \(\d+(\.\d+)?\)$/);
    expect(await page.textContent('#inspector td[data-key="action"]')).toMatch(
      /^[a-z].* \(\d+\)$/i,
    );
    await page.screenshot({ path: outputPath('lab-battle-inspector.png') });
    expect(errors).toEqual([]);
    await page.close();
  });
});

/** A digest of a chart's canvas (does the picture change?). */
const chartDigest = (page: Page, title: string) =>
  page.evaluate((title) => {
    const c = document.querySelector<HTMLCanvasElement>(`.chart[data-title="${title}"] canvas`);
    if (!c) return -1;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 7) h = (Math.imul(h, 31) + d[i]) | 0;
    return h;
  }, title);

/** The colour of the wall cell (0, 0) on screen, against the palette's. */
async function wallPixel(page: Page, name: string): Promise<number[]> {
  const [sx, sy] = await page.evaluate(() => window.gibbs.cellToScreen(0, 0));
  const png = await page.screenshot({ path: outputPath(name) });
  return (await pngPixels(page, png, [[sx, sy]]))[0].slice(0, 3);
}

describe('issue 13: renderer fallback', { timeout: 240_000 }, () => {
  it('WebGPU asked for where there is none: WebGL, and the page says so', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors = collectErrors(page);
    await page.addInitScript(() =>
      Object.defineProperty(navigator, 'gpu', { value: undefined, configurable: true }),
    );
    await page.goto(`${server.url}?experiment=walkers&seed=7&renderer=webgpu`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, {
      timeout: 90_000,
    });
    expect(await page.textContent('#renderer-note')).toMatch(
      /WebGPU is not available.*drawing with WebGL/,
    );
    await page.waitForFunction(() =>
      /render webgl/.test(document.getElementById('stats')?.textContent ?? ''),
    );
    await page.waitForFunction(() => window.gibbs.view.framesDrawn >= 1);
    await page.waitForTimeout(500);
    const got = await wallPixel(page, 'lab-webgpu-unavailable.png');
    const want = legendColour('wall', 1, ['red', 'blue']);
    for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - want[c])).toBeLessThanOrEqual(3);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a WebGPU renderer that fails or is lost falls back to WebGL with a message; the run and charts go on', async () => {
    const { page } = await open('experiment=walkers&seed=7&renderer=webgpu&speed=30');
    // Headless here the WebGPU device is lost on its own; elsewhere the test loses it.
    await page.waitForTimeout(1500);
    await page.evaluate(() => {
      const v = window.gibbs.view;
      if (v.renderer === 'webgpu')
        (v.app.renderer as { gpu?: { device: GPUDevice } }).gpu?.device.destroy();
    });
    await page.waitForFunction(
      () =>
        /WebGPU.*drawing with WebGL/.test(
          document.getElementById('renderer-note')?.textContent ?? '',
        ),
      null,
      { timeout: 30_000 },
    );
    await page.waitForFunction(() =>
      /render webgl \(palette, WebGPU failed\)/.test(
        document.getElementById('stats')?.textContent ?? '',
      ),
    );
    const drawn = (await hooks(page)).view.framesDrawn;
    await page.click('#play');
    await waitStatus(page, 's.step >= 10');
    await page.waitForFunction((n) => window.gibbs.view.framesDrawn > n + 3, drawn);
    await page.click('#play');
    await waitStatus(page, '!s.running');
    await page.waitForTimeout(600);
    const got = await wallPixel(page, 'lab-webgpu-lost.png');
    const want = legendColour('wall', 1, ['red', 'blue']);
    for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - want[c])).toBeLessThanOrEqual(3);
    const reward = (await chartInfo(page)).find((p) => p.title === 'reward per group')!;
    expect(reward.last).toBeGreaterThanOrEqual(10);
    await page.close();
  });

  it('the charts do not depend on the renderer loop', async () => {
    const { page, errors } = await open('experiment=walkers&seed=7&speed=30');
    await page.locator('#stage').click({ position: { x: 3, y: 3 } });
    await page.keyboard.press('.');
    await page.waitForSelector('.chart[data-title="temperature"] canvas');
    // The renderer's frame loop stops (as when its device is gone): the charts still redraw.
    await page.evaluate(() => window.gibbs.view.app.ticker.stop());
    await page.waitForTimeout(500);
    const before = await chartDigest(page, 'order parameter');
    await page.click('#play');
    await waitStatus(page, 's.step >= 25');
    await page.click('#play');
    await page.waitForTimeout(800);
    expect(await chartDigest(page, 'order parameter')).not.toBe(before);
    expect(errors).toEqual([]);
    await page.close();
  });
});
