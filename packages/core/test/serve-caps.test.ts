/**
 * The server's caps (issue 14): replies to a watcher's own requests count against its send
 * buffer (a watcher flooding `inspect` without reading gets refusals, then is dropped with 1008,
 * and the server's buffers stay bounded); a message over the size limit closes with 1009, not
 * 1006, for a watched run and an external one; any text a client sends (property) gets a
 * `rejected` or a valid message, never an exception or a dropped connection. The experiment here
 * draws nothing (frame() null): serving it used to spin the event loop for ever, pulling frames.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import {
  decodeActions,
  defineExperiment,
  encodeActions,
  GibbsError,
  MAX_CLIENT_MESSAGE_BYTES,
  parseClientMessage,
  parseServerMessage,
  type ServerMessage,
} from '../src/index.ts';
import {
  CLOSE_BUFFER_FULL,
  MAX_REFUSED_REQUESTS,
  type RunServer,
  serveRun,
} from '../src/node/index.ts';
import { type SimulationHandle, startSimulation } from '../src/runtime/index.ts';

/** An experiment whose inspection of any agent is about 1 MB of JSON. */
const FAT = 100_000;
const fat = defineExperiment({
  name: 'fat-inspection',
  description: 'one agent with a large inspection',
  params: z.object({}),
  create: () => {
    let step = 0;
    const big = Array.from({ length: FAT }, (_, i) => i + 0.123456);
    return {
      advance() {
        step++;
      },
      metrics: () => ({ step, episode: 0, values: { step }, groups: {} }),
      frame: () => null,
      inspect: (group: number, slot: number) => ({
        group: String(group),
        slot,
        values: {},
        distributions: { big },
      }),
    };
  },
});

let handle: SimulationHandle | null = null;
let server: { close(): Promise<void> } | null = null;
afterEach(async () => {
  await server?.close();
  await handle?.dispose();
  server = null;
  handle = null;
});

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((r) => ws.once('close', (code) => r(code)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('replies to a watcher count against its buffer', () => {
  it('inspect requests without reading: refused past the cap, then dropped with 1008; memory bounded', async () => {
    handle = await startSimulation({ experiment: fat, worker: false });
    const cap = 2 << 20;
    const srv: RunServer = await serveRun(handle, { port: 0, maxBufferedBytes: cap });
    server = srv;
    const ws = await open(srv.url);
    const got: ServerMessage[] = [];
    ws.on('message', (data, isBinary) => {
      if (!isBinary) got.push(parseServerMessage(String(data)));
    });
    const code = closeCode(ws);
    ws.send(JSON.stringify({ type: 'frames', maxFps: 0, id: 'f' }));
    await sleep(200);
    ws.pause(); // reads nothing from now on
    const n = 400; // ~400 MB of replies if each were sent
    for (let i = 0; i < n; i++)
      ws.send(JSON.stringify({ type: 'inspect', group: 0, slot: 0, id: i }));
    let maxBuffered = 0;
    const t0 = Date.now();
    while (srv.clients > 0 && Date.now() - t0 < 60_000) {
      maxBuffered = Math.max(maxBuffered, srv.bufferedBytes());
      await sleep(20);
    }
    // Closed by the server (the close frame waits behind the unread replies).
    expect(srv.clients).toBe(0);
    expect(maxBuffered).toBeLessThan(cap + 2 * (FAT * 12 + 1024));
    // A watcher that reads again finds some answers, refusals naming the buffer, and the code.
    ws.resume();
    expect(await code).toBe(CLOSE_BUFFER_FULL);
    const answers = got.filter((m) => m.type === 'inspection').length;
    const refusals = got.filter((m) => m.type === 'rejected' && m.field === 'buffer');
    expect(answers).toBeGreaterThan(0);
    expect(answers).toBeLessThan(n / 2);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.length).toBeLessThanOrEqual(MAX_REFUSED_REQUESTS);
    expect(refusals[0].type === 'rejected' && refusals[0].message).toMatch(
      /^inspect: this watcher's send buffer is full \(\d+ bytes\); read the replies first$/,
    );
    // The run is unharmed: another watcher attaches and is answered.
    const b = await open(srv.url);
    const answer = new Promise<ServerMessage>((r) =>
      b.on('message', (d, bin) => {
        if (bin) return;
        const m = parseServerMessage(String(d));
        if (m.type === 'ack') r(m);
      }),
    );
    b.send(JSON.stringify({ type: 'step', n: 2, id: 'ok' }));
    expect(await answer).toMatchObject({ type: 'ack', id: 'ok', result: 2 });
    b.close();
  }, 90_000);
});

describe('oversized messages close with 1009', () => {
  // An external run's: packages/env/test/serve-external.test.ts (it serves Battle).
  it('a 10 MB message to a watched run', async () => {
    handle = await startSimulation({ experiment: fat, worker: false });
    const srv = await serveRun(handle, { port: 0 });
    server = srv;
    for (const size of [100_000, 10_000_000]) {
      const ws = await open(srv.url);
      const code = closeCode(ws);
      ws.on('error', () => {});
      // Sent twice: the server reads the first one's head and stops, with the rest still coming.
      const big = JSON.stringify({ type: 'setParam', name: 't', value: 'x'.repeat(size) });
      ws.send(big);
      ws.send(big);
      expect(await code).toBe(1009);
    }
    // A client that goes on sending after the limit reads the close frame, not a reset.
    for (let i = 0; i < 3; i++) expect(await rawOversized(srv.port, 10_000_000)).toBe(1009);
  }, 60_000);
});

/**
 * A raw client that sends the head of a masked text frame of `size` bytes and then the bytes,
 * and reads what comes back: the close code of the server's close frame, or 1006 when the
 * connection is cut before one arrives.
 */
function rawOversized(port: number, size: number): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    let buf = Buffer.alloc(0);
    let upgraded = false;
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        upgraded = true;
        buf = buf.subarray(end + 4);
        const head = Buffer.alloc(14);
        head[0] = 0x81;
        head[1] = 0x80 | 127;
        head.writeBigUInt64BE(BigInt(size), 2);
        // Like a blocking client (Python's sendall): nothing is read until all is sent.
        s.pause();
        s.write(head); // mask key: zeros
        s.write(Buffer.alloc(size, 0x20), () => s.resume());
        return;
      }
      // Server frames (unmasked): skip hello and the like up to the close frame.
      while (upgraded && buf.length >= 2) {
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        if ((buf[0] & 0x0f) === 8) return resolve(len >= 2 ? buf.readUInt16BE(off) : 1005);
        buf = buf.subarray(off + len);
      }
    });
    s.on('error', () => resolve(1006));
    s.on('close', () => resolve(1006));
  });
}

describe('the WebSocket message schema (fuzz)', () => {
  it('any text gets a valid message or a refusal with a one-line reason, never an exception', () => {
    const known = ['pause', 'resume', 'step', 'speed', 'setParam', 'frames', 'inspect', 'snapshot'];
    const anyJson = fc.jsonValue({ maxDepth: 3 });
    const shaped = fc.record(
      {
        type: fc.oneof(fc.constantFrom(...known, 'reset', 'act', 'finish'), fc.string()),
        id: fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.double(), anyJson),
        n: fc.oneof(fc.integer(), fc.double(), anyJson),
        group: fc.oneof(fc.integer(), anyJson),
        slot: fc.oneof(fc.integer(), anyJson),
        name: fc.oneof(fc.string(), anyJson),
        value: anyJson,
        maxFps: fc.oneof(fc.double(), anyJson),
        stepsPerSecond: fc.oneof(fc.double(), fc.constant(null), anyJson),
      },
      { requiredKeys: ['type'] },
    );
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      anyJson.map((v) => JSON.stringify(v) ?? 'undefined'),
      shaped.map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(text, (t) => {
        const r = parseClientMessage(t);
        if (r.ok) {
          expect(known.concat('reset', 'act', 'finish')).toContain(r.message.type);
        } else {
          expect(typeof r.message).toBe('string');
          expect(r.message).not.toContain('\n');
          expect(r.message.length).toBeLessThan(2000);
        }
      }),
      { numRuns: 2000 },
    );
    expect(MAX_CLIENT_MESSAGE_BYTES).toBe(64 * 1024);
  });

  it('binary actions (external runs): random and damaged messages decode or are a GibbsError', () => {
    const valid = fc
      .tuple(
        fc.array(fc.array(fc.integer({ min: -5, max: 30 }), { maxLength: 6 }), { maxLength: 3 }),
        fc.oneof(fc.constant(undefined), fc.string({ maxLength: 20 }), fc.integer()),
      )
      .map(([groups, id]) =>
        encodeActions(
          groups.map((g) => Int32Array.from(g)),
          id,
        ),
      );
    const damaged = fc
      .tuple(
        valid,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      )
      .map(([bytes, edits]) => {
        const b = new Uint8Array(bytes);
        for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v;
        return b;
      });
    const truncated = fc
      .tuple(valid, fc.nat())
      .map(([bytes, cut]) => bytes.slice(0, cut % (bytes.length + 1)));
    const random = fc.uint8Array({ maxLength: 64 }).map((b) => {
      const out = new Uint8Array(b.length + 8);
      out.set([0x47, 0x42, 0x41, 0x31]); // "GBA1"
      out.set(b, 8);
      new DataView(out.buffer).setUint32(4, b.length, true);
      return out;
    });
    fc.assert(
      fc.property(fc.oneof(valid, damaged, truncated, random), (bytes) => {
        try {
          const d = decodeActions(bytes);
          expect(d.body).toBeInstanceOf(Int32Array);
        } catch (err) {
          expect(err).toBeInstanceOf(GibbsError);
          expect((err as Error).message).not.toContain('\n');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a served run answers every fuzzed message and keeps the connection', async () => {
    handle = await startSimulation({ experiment: fat, worker: false });
    const srv = await serveRun(handle, { port: 0 });
    server = srv;
    const ws = await open(srv.url);
    const got: ServerMessage[] = [];
    ws.on('message', (d, bin) => {
      if (!bin) got.push(parseServerMessage(String(d)));
    });
    const samples = fc.sample(
      fc.oneof(
        fc.string({ maxLength: 100 }),
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'),
        fc
          .record({
            type: fc.constantFrom('step', 'inspect', 'setParam', 'frames', 'speed', 'explode'),
            id: fc.integer(),
            n: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.string()),
            group: fc.integer({ min: -2, max: 2 }),
            slot: fc.integer({ min: -2, max: 2 }),
            maxFps: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.double()),
          })
          .map((v) => JSON.stringify(v)),
      ),
      { numRuns: 150, seed: 14 },
    );
    const before = got.length;
    for (const s of samples) ws.send(s);
    ws.send(JSON.stringify({ type: 'step', n: 1, id: 'last' }));
    const t0 = Date.now();
    while (!got.some((m) => m.type === 'ack' && m.id === 'last') && Date.now() - t0 < 30_000)
      await sleep(20);
    expect(got.some((m) => m.type === 'ack' && m.id === 'last')).toBe(true);
    const answers = got
      .slice(before)
      .filter((m) => m.type === 'ack' || m.type === 'rejected' || m.type === 'inspection');
    expect(answers.length).toBe(samples.length + 1);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  }, 60_000);
});
