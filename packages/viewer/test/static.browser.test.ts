/**
 * The viewer as a static site (issue 12): the site `pnpm build` writes, served by a plain file
 * server with no COOP/COEP headers, runs Battle in a Web Worker; `gibbs view --static` bundles a
 * user's experiment module in. Screenshots land in test-output/viewer/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/server.ts';
import { collectErrors, launchChromium, outputPath } from './browser.ts';

const TSX = resolve(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs');
const WALKERS = resolve(import.meta.dirname, 'fixtures/walkers.ts');
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

let tmp: string;
let browser: Browser;
let server: Server;
let base: string;

/** A plain static file server over `root`: files only, no headers beyond the content type. */
function serveFiles(): Promise<Server> {
  const s = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = resolve(tmp, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    if (!file.startsWith(tmp + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => s.listen(0, '127.0.0.1', () => ok(s)));
}

function run(args: string[]): string {
  const r = spawnSync(process.execPath, [TSX, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface Status {
  experiment: string;
  step: number;
  running: boolean;
  kind: string;
}
const status = (page: Page) => page.evaluate(() => window.gibbs.status);

async function open(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = collectErrors(page);
  await page.goto(`${base}/${path}`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, {
    timeout: 90_000,
  });
  return { page, errors };
}

/** Pick `name`, press play, and see the step count rise past 20 in a worker. */
async function pickAndPlay(page: Page, name: string): Promise<Status> {
  // Picking the experiment already shown would create it anew under the click on play.
  if ((await page.inputValue('#experiment')) !== name) await page.selectOption('#experiment', name);
  await page.waitForFunction(
    (n) => {
      const s = window.gibbs.status;
      return s?.experiment === n && s.step === 0;
    },
    name,
    { timeout: 60_000 },
  );
  await page.click('#play');
  await page.waitForFunction(
    (n) => {
      const s = window.gibbs.status;
      return s?.experiment === n && s.step > 20;
    },
    name,
    { timeout: 60_000 },
  );
  return (await status(page)) as Status;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'gibbs-static-'));
  // Exactly what `pnpm build` runs for the site, and the CLI's --static with a user's module.
  run(['scripts/build-viewer-site.ts', '--out', join(tmp, 'site')]);
  run(['packages/cli/src/main.ts', 'view', WALKERS, '--static', join(tmp, 'mine')]);
  [browser, server] = await Promise.all([launchChromium(), serveFiles()]);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the static viewer', () => {
  it('is plain files: no module of the site refers to a dev server or the file system', () => {
    const html = readFileSync(join(tmp, 'site/index.html'), 'utf8');
    expect(html).toMatch(/src="\.\/assets\/[^"]+\.js"/);
    expect(html).not.toMatch(/\/@fs\/|\/@vite|\/src\/main\.ts/);
  });

  it('runs Battle from a plain file server, without cross-origin isolation, and says so', async () => {
    const { page, errors } = await open('site/');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    const names = await page.$$eval('#experiment option', (os) => os.map((o) => o.textContent));
    expect(names).toContain('battle');
    // Every built-in runs in a page, the trainers too (their files in memory).
    expect(names).toEqual(
      expect.arrayContaining(['battle-train', 'battle-eval', 'ising', 'tmaze']),
    );
    // A static site has no runs directory to list.
    expect(await page.isHidden('#runs')).toBe(true);
    const s = await pickAndPlay(page, 'battle');
    expect(s.kind).toBe('worker');
    await expect
      .poll(() => page.textContent('#stats'))
      .toMatch(/not cross-origin isolated .*no SharedArrayBuffer/);
    await page.screenshot({ path: outputPath('static-battle.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('gibbs view --static bundles a user module, which runs in the worker', async () => {
    const { page, errors } = await open('mine/index.html');
    // The module given is the one the page starts with, paused.
    expect(await page.inputValue('#experiment')).toBe('walkers');
    const s = await pickAndPlay(page, 'walkers');
    expect(s.step).toBeGreaterThan(20);
    await page.screenshot({ path: outputPath('static-walkers.png') });
    expect(errors).toEqual([]);
    await page.close();
  });
});
