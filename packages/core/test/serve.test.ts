/**
 * The wire protocol and the WebSocket server of a served run: message validation, binary frames,
 * watchers that attach and leave, garbage and broken connections, a watcher that reads nothing.
 */
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  allocAgentsFrame,
  decodeFrame,
  encodeFrame,
  parseClientMessage,
  parseServerMessage,
  type RenderFrame,
  type ServerMessage,
} from '../src/index.ts';
import { originAllowed, type RunServer, serveRun } from '../src/node/index.ts';
import { type SimulationHandle, startSimulation } from '../src/runtime/index.ts';

const WALKERS = fileURLToPath(new URL('./fixtures/walkers.ts', import.meta.url));

describe('protocol', () => {
  it('accepts the controls and refuses anything else with a clear reason', () => {
    expect(parseClientMessage('{"type":"step","n":3,"id":7}')).toEqual({
      ok: true,
      message: { type: 'step', n: 3, id: 7 },
    });
    expect(parseClientMessage('{"type":"speed","stepsPerSecond":null}').ok).toBe(true);
    const cases: [string, RegExp][] = [
      ['garbage{', /not JSON/],
      ['42', /unknown message type 42? ?|unknown message type undefined/],
      [
        '{"type":"explode","id":"x"}',
        /unknown message type "explode"; expected one of pause, resume/,
      ],
      ['{"type":"step","n":-1}', /malformed "step" message: n:/],
      ['{"type":"step","n":2,"extra":1}', /malformed "step" message/],
      ['{"type":"setParam","name":"t","value":{"a":1}}', /malformed "setParam" message: value/],
      ['{"type":"speed","stepsPerSecond":0}', /stepsPerSecond/],
    ];
    for (const [text, re] of cases) {
      const r = parseClientMessage(text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(re);
    }
    const withId = parseClientMessage('{"type":"explode","id":"x"}');
    expect(!withId.ok && withId.id).toBe('x');
  });

  it('frames survive encode/decode exactly (property)', () => {
    const frameArb = fc
      .record({
        w: fc.integer({ min: 0, max: 9 }),
        h: fc.integer({ min: 0, max: 9 }),
        n: fc.integer({ min: 0, max: 13 }),
        seed: fc.integer(),
        legend: fc.array(fc.string(), { maxLength: 4 }),
      })
      .map(({ w, h, n, seed, legend }) => {
        let s = seed;
        const rnd = () => {
          s = (Math.imul(s, 1103515245) + 12345) | 0;
          return (s >>> 8) / 2 ** 24;
        };
        const agents = allocAgentsFrame(n);
        for (let i = 0; i < n; i++) {
          agents.group[i] = i % 3;
          agents.slot[i] = i * 7 - 5;
          agents.x[i] = rnd() * w;
          agents.y[i] = rnd() * h;
          agents.hp[i] = rnd();
          agents.heading[i] = i % 4 === 0 ? Number.NaN : rnd() * 6;
          agents.action[i] = (i % 5) - 1;
          agents.reward[i] = rnd() - 0.5;
        }
        const cells = new Uint8Array(w * h).map(() => Math.floor(rnd() * 4));
        const frame: RenderFrame = {
          step: n,
          episode: w,
          width: w,
          height: h,
          cells,
          legend,
          groups: ['a', 'b', 'c'],
          agents,
        };
        return frame;
      });
    fc.assert(
      fc.property(frameArb, fc.integer({ min: 0, max: 1e6 }), (frame, runStep) => {
        const bytes = encodeFrame(frame, runStep, 'snap');
        expect(bytes.byteLength % 4).toBe(0);
        const { header, frame: back } = decodeFrame(bytes);
        expect(header.runStep).toBe(runStep);
        expect(header.id).toBe('snap');
        expect(back).toEqual(frame);
      }),
      { numRuns: 60 },
    );
    expect(() => decodeFrame(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/magic/);
    const good = encodeFrame(
      { ...emptyFrame(), width: 4, height: 4, cells: new Uint8Array(16) },
      1,
    );
    expect(() => decodeFrame(good.subarray(0, good.length - 8))).toThrow(/truncated/);
  });
});

function emptyFrame(): RenderFrame {
  return {
    step: 0,
    episode: 0,
    width: 0,
    height: 0,
    cells: new Uint8Array(0),
    legend: [],
    groups: [],
    agents: allocAgentsFrame(0),
  };
}

/** A watcher that keeps every message it gets. */
class Watcher {
  readonly ws: WebSocket;
  readonly json: ServerMessage[] = [];
  readonly frames: ReturnType<typeof decodeFrame>[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) this.frames.push(decodeFrame(new Uint8Array(data as Buffer)));
      else this.json.push(parseServerMessage(String(data)));
    });
    this.opened = new Promise((r) => this.ws.once('open', () => r()));
    this.closed = new Promise((r) => this.ws.once('close', () => r()));
  }
  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }
  async next<T extends ServerMessage['type']>(
    type: T,
    pred: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const t = performance.now();
    for (;;) {
      const m = this.json.find(
        (x): x is Extract<ServerMessage, { type: T }> =>
          x.type === type && pred(x as Extract<ServerMessage, { type: T }>),
      );
      if (m) return m;
      if (performance.now() - t > 15_000) throw new Error(`no ${type} message`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** A raw TCP connection that completes the WebSocket handshake (or not). */
function rawSocket(port: number, upgrade: boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      if (!upgrade) return resolve(s);
      s.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      s.once('data', (d) =>
        String(d).startsWith('HTTP/1.1 101') ? resolve(s) : reject(new Error(String(d))),
      );
    });
    s.on('error', () => {});
  });
}

describe('origins', () => {
  it('loopback pages and non-browser clients only, unless told otherwise', () => {
    expect(originAllowed(undefined)).toBe(true);
    expect(originAllowed('http://localhost:5173')).toBe(true);
    expect(originAllowed('http://127.0.0.1:8080')).toBe(true);
    expect(originAllowed('http://[::1]:3000')).toBe(true);
    expect(originAllowed('https://evil.example')).toBe(false);
    expect(originAllowed('http://localhost.evil.example')).toBe(false);
    expect(originAllowed('http://viewer.lan:5173', ['http://viewer.lan:5173'])).toBe(true);
    expect(originAllowed('https://evil.example', 'any')).toBe(true);
  });
});

describe('serveRun', () => {
  let handle: SimulationHandle | null = null;
  let server: RunServer | null = null;
  afterEach(async () => {
    await server?.close();
    await handle?.dispose();
    server = null;
    handle = null;
  });

  it('watchers attach and leave, control the run, and garbage leaves the run unharmed', async () => {
    handle = await startSimulation({ experiment: WALKERS, worker: true, seed: 4 });
    server = await serveRun(handle, { port: 0 });
    expect(server.host).toBe('127.0.0.1');
    const a = new Watcher(server.url);
    await a.opened;
    const hello = await a.next('hello');
    expect(hello.info.experiment).toBe('walkers');
    expect(hello.info.liveParams.map((p) => p.name)).toEqual(['temperature']);
    a.send({ type: 'frames', maxFps: 0 });
    a.send({ type: 'step', n: 5, id: 1 });
    expect((await a.next('ack', (m) => m.id === 1)).result).toBe(5);
    // Refused, each with its reason; the run is unaffected.
    a.send('garbage{');
    a.send({ type: 'explode', id: 'e' });
    a.send({ type: 'step', n: -1, id: 'neg' });
    a.send({ type: 'setParam', name: 'width', value: 3, id: 'w' });
    a.send({ type: 'setParam', name: 'temperature', value: -2, id: 't' });
    a.ws.send(new Uint8Array([1, 2, 3]));
    expect((await a.next('rejected', (m) => /not JSON/.test(m.message))).id).toBeUndefined();
    expect((await a.next('rejected', (m) => m.id === 'e')).message).toMatch(
      /unknown message type "explode"/,
    );
    expect((await a.next('rejected', (m) => m.id === 'neg')).field).toBe('n');
    expect((await a.next('rejected', (m) => m.id === 'w')).message).toMatch(
      /setParam: param: got "width", expected a live parameter/,
    );
    expect((await a.next('rejected', (m) => m.id === 't')).field).toBe('temperature');
    await a.next('rejected', (m) => /binary/.test(m.message));
    a.send({ type: 'setParam', name: 'temperature', value: 0, id: 2 });
    await a.next('ack', (m) => m.id === 2);
    a.send({ type: 'step', n: 3, id: 3 });
    expect((await a.next('ack', (m) => m.id === 3)).result).toBe(8);
    await a.next('metrics', (m) => m.records.some((r) => r.step === 8));
    const records = a.json.flatMap((m) => (m.type === 'metrics' ? m.records : []));
    expect(records.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(records.slice(5).map((r) => r.values.moved)).toEqual([0, 0, 0]);
    // Inspect: walkers has no inspector, so the answer is null.
    a.send({ type: 'inspect', group: 0, slot: 1, id: 'i' });
    expect((await a.next('inspection', (m) => m.id === 'i')).inspection).toBeNull();
    a.send({ type: 'inspect', group: -1, slot: 1, id: 'bad' });
    expect((await a.next('rejected', (m) => m.id === 'bad')).field).toBe('group');
    // Snapshot: a JSON answer and a binary frame with the same id.
    a.send({ type: 'snapshot', id: 's' });
    const snap = await a.next('snapshot', (m) => m.id === 's');
    expect(snap.status.step).toBe(8);
    expect(snap.metrics?.step).toBe(8);
    await until(() => a.frames.some((f) => f.header.id === 's'), 'the snapshot frame');
    const sf = a.frames.find((f) => f.header.id === 's')!;
    expect(sf.header.runStep).toBe(8);
    expect(sf.frame.agents.count).toBe(100);

    // Broken connections: garbage HTTP, a WebSocket frame cut in the middle, an abrupt reset.
    const g = await rawSocket(server.port, false);
    g.write('\x00\x01garbage that is not HTTP\r\n\r\n');
    const cut = await rawSocket(server.port, true);
    cut.write(Buffer.from([0x81, 0xfe, 0x00, 0x40, 1, 2, 3, 4, 0x7b, 0x22])); // 64-byte text, 2 sent
    cut.destroy();
    const reset = await rawSocket(server.port, true);
    reset.resetAndDestroy();
    g.destroy();
    // An oversized message closes only that connection (1009: message too big).
    const big = new Watcher(server.url);
    await big.opened;
    const code = new Promise<number>((r) => big.ws.once('close', (c) => r(c)));
    big.send({ type: 'setParam', name: 'temperature', value: 'x'.repeat(100_000) });
    expect(await code).toBe(1009);

    // A page of another site may not attach; a loopback page may.
    const evil = new WebSocket(server.url, { origin: 'https://evil.example' });
    const refused = await new Promise<string>((r) => {
      evil.on('unexpected-response', (_req, res) => r(String(res.statusCode)));
      evil.on('error', (e) => r(e.message));
    });
    expect(refused).toMatch(/401|403/);
    const local = new WebSocket(server.url, { origin: 'http://localhost:5173' });
    await new Promise<void>((r, j) => {
      local.once('open', () => r());
      local.once('error', j);
    });
    local.close();

    // A second watcher attaches mid-run and gets frames; the first leaves.
    const b = new Watcher(server.url);
    await b.opened;
    expect((await b.next('hello')).status.step).toBe(8);
    b.send({ type: 'frames', maxFps: 200, id: 'f' });
    await b.next('ack', (m) => m.id === 'f');
    a.ws.close();
    await a.closed;
    // Paced: at unlimited speed this process (server and watcher in one) would spend itself
    // parsing tens of thousands of metric records a second.
    b.send({ type: 'speed', stepsPerSecond: 2000, id: 'v' });
    await b.next('ack', (m) => m.id === 'v');
    b.send({ type: 'resume', id: 'r' });
    await b.next('ack', (m) => m.id === 'r');
    await until(
      () => b.frames.length >= 3,
      () =>
        `3 frames: got ${b.frames.length}; status ${JSON.stringify(handle?.status)}; ${server?.clients} watchers`,
    );
    const steps = b.frames.map((f) => f.header.runStep);
    expect(steps[2]).toBeGreaterThan(steps[0]);
    await b.next('status', (m) => m.status.step > 200 && m.status.state === 'running');
    expect(server.clients).toBe(1);
    b.ws.close();
    await b.closed;
  });

  it('a watcher that reads nothing does not make memory grow', async () => {
    handle = await startSimulation({
      experiment: WALKERS,
      worker: true,
      seed: 1,
      params: { width: 512, height: 512, agents: 2000 },
    });
    const limits = { frameBufferBytes: 256 * 1024, maxBufferedBytes: 1024 * 1024 };
    server = await serveRun(handle, { port: 0, maxFps: 60, ...limits });
    // Frames of 512x512 cells + 4000 agents: about 370 kB each, 60 per second offered.
    const sleeper = await rawSocket(server.port, true);
    sleeper.pause(); // reads nothing, ever
    await handle.start();
    await sleep(800);
    const before = process.memoryUsage();
    const stepBefore = handle.status.step;
    let maxBuffered = 0;
    for (let i = 0; i < 50; i++) {
      await sleep(50);
      maxBuffered = Math.max(maxBuffered, server.bufferedBytes());
    }
    const after = process.memoryUsage();
    expect(handle.status.step).toBeGreaterThan(stepBefore);
    expect(handle.status.framesDelivered).toBeGreaterThan(20);
    // The kernel takes some bytes, then the server stops sending frames (past 256 KiB) and then
    // metrics (past 1 MiB) to this watcher: its send buffer stays within the cap plus a message.
    expect(maxBuffered).toBeGreaterThan(limits.frameBufferBytes);
    expect(maxBuffered).toBeLessThan(limits.maxBufferedBytes + 512 * 1024);
    // Unbounded buffering would hold ~2.5 s x 60 fps x 370 kB = 55 MB more in this process.
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(16 * 2 ** 20);
    sleeper.destroy();
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(
  cond: () => boolean,
  what: string | (() => string),
  timeoutMs = 15_000,
): Promise<void> {
  const t = performance.now();
  while (!cond()) {
    if (performance.now() - t > timeoutMs)
      throw new Error(`until: timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(5);
  }
}
