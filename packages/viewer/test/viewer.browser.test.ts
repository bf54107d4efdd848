/**
 * The viewer in a real browser (Debian chromium, headless, pixi on WebGL): one dev server and one
 * browser for the whole file. Screenshots land in test-output/viewer/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { MetricRecord } from '@gibbs/core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_BUCKETS } from '../src/history.ts';
import { legendColour } from '../src/palette.ts';
import { encodeFrame, encodeHeader, RECORDING_VERSION } from '../src/recording.ts';
import { REPO_ROOT, startViewerServer, type ViewerServer } from '../src/server.ts';
import { collectErrors, launchChromium, outputPath, pngPixels } from './browser.ts';
import walkers, { policy } from './fixtures/walkers.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/walkers.ts');

let server: ViewerServer;
let browser: Browser;
let runsDir: string;

interface PageStatus {
  step: number;
  running: boolean;
  failed: string | null;
  kind: string;
}

async function open(query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  const errors = collectErrors(page);
  await page.goto(`${server.url}?${query}`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, {
    timeout: 90_000,
  });
  return { page, errors };
}

const status = (page: Page) => page.evaluate(() => window.gibbs.status);

const pageFrame = (page: Page) =>
  page.evaluate(() => {
    const f = window.gibbs.frame;
    return f && { step: f.step, cells: Array.from(f.cells), width: f.width, height: f.height };
  });

const cellToScreen = (page: Page, x: number, y: number) =>
  page.evaluate(([x, y]) => window.gibbs.cellToScreen(x, y), [x, y]);

/** The seeded world in Node, `steps` steps on: the reference the page must match. */
async function reference(seed: number, steps: number, params: Record<string, unknown> = {}) {
  const sim = await walkers.create({ params: walkers.params.parse(params), seed });
  for (let i = 0; i < steps; i++) await sim.advance();
  return sim;
}

beforeAll(async () => {
  runsDir = mkdtempSync(join(tmpdir(), 'gibbs-viewer-runs-'));
  server = await startViewerServer({ experiments: { walkers: FIXTURE }, runsDir });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

// Generous: a loaded 2-core machine runs chromium's software GL, vite and the CLI side by side.
describe('viewer in chromium', { timeout: 180_000 }, () => {
  it('loads, runs a simulation, and its frames change', async () => {
    const { page, errors } = await open('experiment=walkers&seed=1&speed=30&autoplay=1');
    await page.waitForFunction(() => (window.gibbs.status?.step ?? 0) >= 5, null, {
      timeout: 60_000,
    });
    const a = await pageFrame(page);
    await page.waitForFunction((s) => (window.gibbs.frame?.step ?? 0) > s + 3, a!.step, {
      timeout: 60_000,
    });
    const b = await pageFrame(page);
    // The default: the simulation runs in a Web Worker through core's runtime.
    expect((await status(page))!.kind).toBe('worker');
    expect(b!.step).toBeGreaterThan(a!.step);
    expect(b!.cells).not.toEqual(a!.cells);
    // The status line (refreshed 4 times a second) names the worker source.
    await page.waitForFunction(() =>
      /^worker walkers/.test(document.getElementById('stats')?.textContent ?? ''),
    );
    const stats = await page.textContent('#stats');
    expect(stats).toMatch(/backend none/);
    expect(stats).toMatch(/render webgl/);
    expect(stats).toMatch(/steps\/s/);
    expect(stats).toMatch(/fps/);
    await page.screenshot({ path: outputPath('running.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it.each([
    ['palette', 45],
    ['rgba', 48],
  ])(
    'draws the expected colours at known cells of a seeded world (%s cells, width %i)',
    async (cells, width) => {
      const { page, errors } = await open(
        `experiment=walkers&seed=7&autoplay=0&cells=${cells}&params=width=${width}`,
      );
      // Agents drawn one by one off (a: auto -> on -> off): the cells alone carry the colours.
      await page.locator('#stage').click({ position: { x: 3, y: 3 } });
      await page.keyboard.press('a');
      await page.keyboard.press('a');
      await page.waitForFunction(() =>
        /one by one: off/.test(document.getElementById('message')?.textContent ?? ''),
      );
      await page.waitForFunction(() => (window.gibbs.view.framesDrawn ?? 0) >= 1);
      // Let the canvas settle to its final size and fit before the screenshot.
      await page.waitForTimeout(500);
      const sim = await reference(7, 0, { width });
      const f = sim.frame()!;
      await page.waitForFunction(
        (c) =>
          (document.getElementById('stats')?.textContent ?? '').includes(`render webgl (${c})`),
        cells,
      );
      const codeAt = (x: number, y: number) => f.cells[y * f.width + x];
      const picks: [number, number][] = [
        [0, 0],
        [f.width - 1, f.height - 1],
      ];
      // First and last cell of each kind (the last ones sit in the bottom rows: row padding shows).
      for (const code of [0, 2, 3]) {
        for (const i of [f.cells.indexOf(code), f.cells.lastIndexOf(code)]) {
          picks.push([i % f.width, Math.floor(i / f.width)]);
        }
      }
      const png = await page.screenshot({ path: outputPath(`seeded-world-${cells}.png`) });
      const points = await Promise.all(picks.map(([x, y]) => cellToScreen(page, x, y)));
      const pixels = await pngPixels(page, png, points);
      picks.forEach(([x, y], k) => {
        const code = codeAt(x, y);
        const want = legendColour(f.legend[code], code, f.groups);
        const got = pixels[k].slice(0, 3);
        for (let c = 0; c < 3; c++)
          expect(
            Math.abs(got[c] - want[c]),
            `cell (${x}, ${y}) ${f.legend[code]}: got ${got}, want ${want}`,
          ).toBeLessThanOrEqual(3);
      });
      expect(errors).toEqual([]);
      await page.close();
    },
  );

  it('charts keep the whole history in bounded memory', async () => {
    const { page, errors } = await open(
      'experiment=walkers&seed=2&params=agents=4&speed=0&autoplay=1',
    );
    await page.waitForFunction(() => (window.gibbs.status?.step ?? 0) > 3000, null, {
      timeout: 90_000,
    });
    await page.keyboard.press(' ');
    await page.waitForTimeout(600);
    const info = await page.evaluate(() => window.gibbs.chartInfo());
    const reward = info.find((p) => p.title === 'reward per group')!;
    expect(reward.buckets).toBeLessThanOrEqual(HISTORY_BUCKETS);
    // From the first step: nothing was cut.
    expect(reward.first).toBe(1);
    expect(reward.last).toBeGreaterThan(3000);
    expect(info.find((p) => p.title === 'temperature')!.last).toBe(reward.last);
    await page.waitForSelector('.chart[data-title="dropped frames"] canvas');
    await page.screenshot({ path: outputPath('charts.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('pause stops the step counter and play resumes it', async () => {
    const { page } = await open('experiment=walkers&seed=2&speed=60&autoplay=1');
    await page.waitForFunction(() => (window.gibbs.status?.step ?? 0) >= 3);
    await page.keyboard.press(' ');
    await page.waitForFunction(() => window.gibbs.status?.running === false);
    const paused = (await status(page))!.step;
    await page.waitForTimeout(800);
    expect((await status(page))!.step).toBe(paused);
    expect(await page.textContent('#play')).toBe('play');
    await page.click('#play');
    await page.waitForFunction((s) => (window.gibbs.status?.step ?? 0) > s, paused, {
      timeout: 60_000,
    });
    expect((await status(page))!.running).toBe(true);
    await page.close();
  });

  it.each(['worker', 'main'])(
    "inspector shows an agent's values equal to the simulation's state (%s)",
    async (thread) => {
      const { page, errors } = await open(`experiment=walkers&seed=5&autoplay=0&thread=${thread}`);
      const steps = 6;
      await page.locator('#stage').click({ position: { x: 5, y: 5 } });
      for (let i = 0; i < steps; i++) await page.keyboard.press('.');
      await page.waitForFunction((n) => window.gibbs.frame?.step === n, steps);
      await page.waitForTimeout(300);
      const sim = await reference(5, steps);
      const f = sim.frame()!;
      // A blue agent: click the centre of its cell.
      const k = Array.from(f.agents.group).indexOf(1);
      const slot = f.agents.slot[k];
      const [sx, sy] = await cellToScreen(page, f.agents.x[k], f.agents.y[k]);
      await page.mouse.click(sx, sy);
      await page.waitForSelector(`[data-agent="blue#${slot}"]`);
      const want = sim.inspect!(1, slot)!;
      for (const [key, v] of Object.entries(want.values)) {
        const shown = Number(
          await page.getAttribute(`#inspector td[data-key="${key}"]`, 'data-value'),
        );
        expect(shown, key).toBeCloseTo(v, 4);
      }
      // Shown: hp on the frame's scale, the action by name.
      expect(await page.textContent('#inspector td[data-key="hp"]')).toMatch(/^\d+%/);
      expect(await page.textContent('#inspector td[data-key="action"]')).toMatch(
        /^(stay|right|down|left|up) \(\d\)$/,
      );
      await page.screenshot({ path: outputPath(`inspector-${thread}.png`) });
      // A live parameter reaches the simulation: the policy follows the temperature.
      await page.fill('#params input[data-live="temperature"]', '0.25');
      await page.press('#params input[data-live="temperature"]', 'Enter');
      await page.locator('#stage').click({ position: { x: 5, y: 5 } });
      await page.mouse.click(sx, sy);
      const p = policy(0.25);
      await page.waitForFunction(
        (p0) => {
          const ins = window.gibbs.inspection;
          return ins !== null && Math.abs(ins.distributions.policy[0] - p0) < 1e-9;
        },
        p[0],
        { timeout: 30_000 },
      );
      expect(errors).toEqual([]);
      await page.close();
    },
  );

  it('replays recorded frames and scrubs; truncated and newer files give a message', async () => {
    const sim = await reference(4, 0);
    const parts: Uint8Array[] = [
      encodeHeader({ experiment: 'walkers', seed: 4, params: {}, every: 1 }),
    ];
    const steps: number[] = [];
    const metrics: MetricRecord[] = [];
    for (let i = 0; i < 12; i++) {
      await sim.advance();
      const f = sim.frame()!;
      steps.push(f.step);
      parts.push(encodeFrame(f, i === 0));
      metrics.push(sim.metrics());
    }
    const whole = Buffer.concat(parts);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(runsDir, 'good'), { recursive: true });
    writeFileSync(join(runsDir, 'good', 'frames.bin'), whole);
    writeFileSync(
      join(runsDir, 'good', 'metrics.jsonl'),
      `${metrics.map((m) => JSON.stringify(m)).join('\n')}\n`,
    );
    mkdirSync(join(runsDir, 'cut'), { recursive: true });
    writeFileSync(join(runsDir, 'cut', 'frames.bin'), whole.subarray(0, whole.length - 100));
    const newer = Buffer.from(whole);
    newer.writeUInt32LE(RECORDING_VERSION + 1, 8);
    mkdirSync(join(runsDir, 'newer'), { recursive: true });
    writeFileSync(join(runsDir, 'newer', 'frames.bin'), newer);

    const { page, errors } = await open('replay=good');
    await page.waitForFunction(() => window.gibbs.frame?.step === 1);
    await page.locator('#scrub').fill('7');
    await page.waitForFunction((s) => window.gibbs.frame?.step === s, steps[7]);
    await page.waitForFunction(() =>
      /frame 8\/12/.test(document.getElementById('stats')?.textContent ?? ''),
    );
    // The run's metrics.jsonl feeds the charts.
    const lengths = await page.evaluate(() => window.gibbs.charts());
    expect(lengths['reward per group']).toBe(12);
    await page.screenshot({ path: outputPath('replay.png') });

    await page.selectOption('#runs', 'cut');
    await page.waitForFunction(() =>
      /ends inside frame 12/.test(document.getElementById('message')?.textContent ?? ''),
    );
    expect(
      ((await status(page)) as PageStatus & { replay: { frames: number } }).replay.frames,
    ).toBe(11);

    await page.selectOption('#runs', 'newer');
    await page.waitForFunction(() =>
      /newer Gibbs/.test(document.getElementById('message')?.textContent ?? ''),
    );
    await page.screenshot({ path: outputPath('replay-newer-version.png') });
    // The page stays usable: the last good replay still steps.
    await page.click('#step');
    await page.waitForFunction(() => (window.gibbs.status?.replay?.index ?? 0) === 1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a simulation that throws in its worker: a message with the step, the page stays usable', async () => {
    const { page } = await open('experiment=walkers&seed=1&speed=60&autoplay=1&params=failAt=12');
    await page.waitForFunction(
      () =>
        /walkers failed at step 12: .*failing in step 12/.test(
          document.getElementById('message')?.textContent ?? '',
        ),
      null,
      { timeout: 60_000 },
    );
    expect((await status(page))!.running).toBe(false);
    await page.screenshot({ path: outputPath('worker-failed.png') });
    // Reset with other parameters starts a fresh simulation.
    await page.fill('#params input[name="failAt"]', '0');
    await page.click('#start');
    await page.waitForFunction(() => window.gibbs.status?.step === 0);
    await page.click('#step');
    await page.waitForFunction(() => {
      const st = window.gibbs.status;
      return st !== null && st.step >= 1 && st.failed === null;
    });
    await page.close();
  });

  it('zooms about the cursor with the wheel, pans by dragging, follows an agent', async () => {
    const { page, errors } = await open('experiment=walkers&seed=8&autoplay=0');
    await page.waitForFunction(() => window.gibbs.frame !== null);
    type Cam = { scale: number; x: number; y: number };
    const cam = () => page.evaluate(() => window.gibbs.view.view);
    const box = (await page.locator('#stage').boundingBox())!;
    const before = await cam();
    // The world point under the cursor stays under it.
    const sx = box.x + 200;
    const sy = box.y + 150;
    const world = (c: Cam) => [(sx - box.x - c.x) / c.scale, (sy - box.y - c.y) / c.scale];
    await page.mouse.move(sx, sy);
    await page.mouse.wheel(0, -400);
    await page.waitForFunction((s0) => window.gibbs.view.view.scale > s0, before.scale);
    const zoomed = await cam();
    // (Within a hundredth of a cell: the event coordinates are whole CSS pixels.)
    expect(world(zoomed)[0]).toBeCloseTo(world(before)[0], 1);
    expect(world(zoomed)[1]).toBeCloseTo(world(before)[1], 1);
    await page.mouse.down();
    await page.mouse.move(sx + 60, sy + 25, { steps: 4 });
    await page.mouse.up();
    const panned = await cam();
    expect(panned.x - zoomed.x).toBeCloseTo(60, 0);
    expect(panned.y - zoomed.y).toBeCloseTo(25, 0);
    // Two fingers (touch pointers): spreading them zooms in about their midpoint.
    const pinched = await page.evaluate(() => {
      const stage = document.getElementById('stage')!;
      const r = stage.getBoundingClientRect();
      const at = (id: number, type: string, x: number, y: number) =>
        stage.dispatchEvent(
          new PointerEvent(type, {
            pointerId: id,
            pointerType: 'touch',
            clientX: r.left + x,
            clientY: r.top + y,
            bubbles: true,
          }),
        );
      const g = window.gibbs;
      const before = g.view.view;
      at(11, 'pointerdown', 200, 200);
      at(12, 'pointerdown', 300, 200);
      at(12, 'pointermove', 400, 200);
      at(11, 'pointerup', 200, 200);
      at(12, 'pointerup', 400, 200);
      return { before, after: g.view.view };
    });
    expect(pinched.after.scale / pinched.before.scale).toBeCloseTo(2, 5);
    // Select a red agent, follow it (f): after steps, it sits at the centre of the stage.
    const f = (await reference(8, 0)).frame()!;
    await page.evaluate(() => window.gibbs.view.fit());
    await page.evaluate(([g, s]) => window.gibbs.select({ group: g, slot: s }), [0, 3]);
    await page.keyboard.press('f');
    for (let i = 0; i < 4; i++) await page.keyboard.press('.');
    await page.waitForFunction(() => window.gibbs.frame?.step === 4);
    await page.waitForTimeout(300);
    const k = Array.from(f.agents.slot).findIndex((s, i) => s === 3 && f.agents.group[i] === 0);
    const at = await page.evaluate((k) => {
      const g = window.gibbs;
      return g.cellToScreen(g.frame!.agents.x[k], g.frame!.agents.y[k]);
    }, k);
    expect(at[0]).toBeCloseTo(box.x + box.width / 2, 0);
    expect(at[1]).toBeCloseTo(box.y + box.height / 2, 0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a wrong attach address gives a message and the page stays usable', async () => {
    const { page } = await open('experiment=walkers&seed=1&autoplay=0');
    await page.fill('#attach', 'not an address');
    await page.click('#attach-go');
    await page.waitForFunction(() =>
      /attach address/.test(document.getElementById('message')?.textContent ?? ''),
    );
    await page.click('#step');
    await page.waitForFunction(() => (window.gibbs.status?.step ?? 0) >= 1);
    await page.close();
  });

  it('attaches to a CLI run served with --serve, steers it, and says when the server goes away', async () => {
    const cli = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'run',
        FIXTURE,
        '--steps',
        '100000000',
        '--seed',
        '3',
        '--serve',
        '127.0.0.1:0',
        '--paused',
        '--out',
        join(runsDir, 'served'),
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const address = await servedAddress(cli);
      const { page, errors } = await open(`attach=${encodeURIComponent(address)}`);
      await page.waitForFunction(() => window.gibbs.status?.kind === 'remote');
      await page.waitForFunction(() => window.gibbs.frame !== null, null, { timeout: 30_000 });
      expect((await status(page))!.running).toBe(false);
      // Play resumes the paused run; its frames reach the page.
      await page.click('#play');
      await page.waitForFunction(() => (window.gibbs.frame?.step ?? 0) > 20, null, {
        timeout: 60_000,
      });
      const a = await pageFrame(page);
      await page.waitForFunction((s) => (window.gibbs.frame?.step ?? 0) > s, a!.step, {
        timeout: 60_000,
      });
      await page.screenshot({ path: outputPath('attached.png') });
      await page.keyboard.press(' ');
      await page.waitForFunction(() => window.gibbs.status?.running === false);
      // The frames are the CLI run's: the same seed in Node gives the same picture at that step.
      await page.click('#step');
      await page.waitForFunction(
        () => {
          const g = window.gibbs;
          return g.frame !== null && g.status !== null && g.frame.step === g.status.step;
        },
        null,
        { timeout: 30_000 },
      );
      const shown = await pageFrame(page);
      const sim = await reference(3, shown!.step);
      expect(shown!.cells).toEqual(Array.from(sim.frame()!.cells));
      // The inspector asks the served run itself (protocol `inspect`).
      await page.evaluate(() => window.gibbs.select({ group: 1, slot: 2 }));
      await page.waitForSelector('[data-agent="blue#2"]');
      const want = sim.inspect!(1, 2)!;
      const got = await page.evaluate(() => window.gibbs.inspection);
      expect(got!.values).toEqual(want.values);
      expect(got!.distributions.policy).toEqual(want.distributions.policy);
      // The server goes away: a message, and the page stays usable.
      cli.kill('SIGKILL');
      await page.waitForFunction(
        () => /went away/.test(document.getElementById('message')?.textContent ?? ''),
        null,
        { timeout: 30_000 },
      );
      await page.screenshot({ path: outputPath('attach-server-gone.png') });
      await page.fill('#attach', 'ws://127.0.0.1:1');
      await page.click('#attach-go');
      await page.waitForFunction(
        () =>
          /could not connect|closed the connection/.test(
            document.getElementById('message')?.textContent ?? '',
          ),
        null,
        { timeout: 30_000 },
      );
      expect(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
      await page.close();
    } finally {
      cli.kill('SIGKILL');
    }
  });
});

/** The ws:// address a `gibbs run --serve` prints ("serving ws://..."). */
function servedAddress(cli: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`no "serving" line from the CLI: ${text}`)),
      60_000,
    );
    const onData = (b: Buffer) => {
      text += b.toString();
      const m = /serving (ws:\/\/\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    cli.stdout?.on('data', onData);
    cli.stderr?.on('data', onData);
    cli.on('exit', (code) => reject(new Error(`the CLI exited (${code}): ${text}`)));
  });
}
