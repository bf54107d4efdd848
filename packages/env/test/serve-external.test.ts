/**
 * External runs (`--serve --external`): a client steps the world with `reset` and `act`.
 * Python (clients/python/gibbs_client.py, python3 + numpy) plays 100 steps of Battle and gets the
 * trajectory that the same seed and actions give stepped directly in TypeScript; bad actions are
 * refused with the field they got wrong, and the run goes on; an oversized message closes the
 * socket with 1009.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  decodeActions,
  decodeObservation,
  type Environment,
  encodeActions,
  isObservationMessage,
  parseClientMessage,
  parseServerMessage,
  type ServerMessage,
} from '@gibbs/core';
import { type EnvironmentServer, serveEnvironment } from '@gibbs/core/node';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Battle } from '../src/battle.ts';

const PLAYER = fileURLToPath(new URL('./fixtures/python_battle.py', import.meta.url));
const CONFIG = { map: 30 }; // 30 agents a side

async function battle(): Promise<Environment> {
  return new Battle(CONFIG);
}

let server: EnvironmentServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

interface PyStep {
  actions: Record<string, number[]>;
  reward: Record<string, number[]>;
  alive: Record<string, number[]>;
  hash: string;
  done: boolean;
}

function python(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', args, { timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python3 ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function digest(env: Environment, out: ReturnType<Environment['step']>): string {
  const h = createHash('sha256');
  out.groups.forEach((g) => {
    h.update(new Uint8Array(g.view.buffer, g.view.byteOffset, g.view.byteLength));
    h.update(new Uint8Array(g.features.buffer, g.features.byteOffset, g.features.byteLength));
  });
  void env;
  return h.digest('hex');
}

/** A client that collects every message; `next` waits for the first one matching. */
async function client(url: string) {
  const ws = new WebSocket(url);
  const texts: ServerMessage[] = [];
  const binaries: Uint8Array[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data, isBinary) => {
    if (isBinary) binaries.push(new Uint8Array(data as Buffer));
    else texts.push(parseServerMessage(String(data)));
    wake?.();
  });
  await new Promise((r) => ws.once('open', r));
  const waitFor = async <T>(pick: () => T | undefined): Promise<T> => {
    for (;;) {
      const v = pick();
      if (v !== undefined) return v;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  return {
    ws,
    texts,
    text: (pred: (m: ServerMessage) => boolean) => waitFor(() => texts.find(pred)),
    observation: (id: string | number) =>
      waitFor(() => {
        for (const b of binaries) {
          if (!isObservationMessage(b)) continue; // render frames ("GBF1") come too
          const o = decodeObservation(b);
          if (o.header.id === id) return o;
        }
        return undefined;
      }),
  };
}

describe('external runs', () => {
  it('Python plays 100 steps of Battle with the trajectory TypeScript gets', async () => {
    server = await serveEnvironment(await battle(), { seed: 0 });
    const seed = 7;
    const out = JSON.parse(await python([PLAYER, server.url, String(seed), '100'])) as {
      first: { hash: string; alive: Record<string, number[]> };
      steps: PyStep[];
      refusals: Record<string, { message: string; field: string } | null>;
      after: number;
    };
    expect(out.steps).toHaveLength(100);
    // The same seed and actions, stepped directly.
    const env = await battle();
    const names = env.spec.groups.map((g) => g.name);
    let o = env.reset(seed);
    expect(out.first.hash).toBe(digest(env, o));
    expect(out.first.alive).toEqual(
      Object.fromEntries(names.map((n, g) => [n, [...o.groups[g].alive]])),
    );
    let kills = 0;
    out.steps.forEach((s, i) => {
      o = env.step(names.map((n) => Int32Array.from(s.actions[n])));
      const at = `step ${i + 1}`;
      names.forEach((n, g) => {
        expect([...o.groups[g].reward], at).toEqual(s.reward[n]);
        expect([...o.groups[g].alive], at).toEqual(s.alive[n]);
      });
      expect(s.hash, at).toBe(digest(env, o));
      expect(s.done).toBe(o.done);
      kills += (o.info['kills.red'] ?? 0) + (o.info['kills.blue'] ?? 0);
    });
    expect(kills).toBeGreaterThanOrEqual(0);
    await env.dispose?.();
    // Bad actions from Python were refused, naming the field; the run went on.
    expect(out.refusals.length?.field).toBe('actions.red');
    expect(out.refusals.length?.message).toMatch(
      /actions\.red: .*length 31.*expected an array of 30/,
    );
    expect(out.refusals.range?.field).toMatch(/^actions\[red\]\[\d+\]$/);
    expect(out.refusals.range?.message).toMatch(
      /actions\[red\]\[\d+\] = 99: expected an integer in \[0, 21\) for a live slot/,
    );
    expect(out.after).toBe(101);
  }, 90_000);

  it('validates act messages, refuses what does not fit, and goes on', async () => {
    server = await serveEnvironment(await battle(), { seed: 3, steps: 5 });
    const c = await client(server.url);
    const hello = await c.text((m) => m.type === 'hello');
    expect(
      hello.type === 'hello' && hello.external?.groups.map((g) => [g.name, g.capacity]),
    ).toEqual([
      ['red', 30],
      ['blue', 30],
    ]);
    const send = (m: unknown) => c.ws.send(JSON.stringify(m));
    const rejected = (id: string) =>
      c.text((m) => m.type === 'rejected' && m.id === id) as Promise<
        Extract<ServerMessage, { type: 'rejected' }>
      >;
    const ok = Array.from({ length: 30 }, () => 6);
    send({ type: 'act', id: 'early', actions: { red: ok, blue: ok } });
    expect((await rejected('early')).message).toMatch(/reset first/);
    send({ type: 'reset', id: 'r' });
    const first = await c.observation('r');
    expect(first.header.step).toBe(0);
    expect(first.groups[0].view).toHaveLength(30 * 13 * 13 * 5);
    expect([...first.groups[0].alive].every((a) => a === 1)).toBe(true);
    const cases: [unknown, string, RegExp][] = [
      [{ red: 'abc', blue: ok }, 'actions.red', /malformed "act" message: actions\.red/],
      [{ red: [...ok.slice(1), 2.5], blue: ok }, 'actions.red.29', /actions\.red\.29/],
      [{ red: ok.slice(1), blue: ok }, 'actions.red', /expected an array of 30 actions/],
      [
        { red: ok, blue: [...ok.slice(1), 21] },
        'actions[blue][29]',
        /^act: battle: actions\[blue\]\[29\] = 21: expected an integer in \[0, 21\) for a live slot$/,
      ],
      [{ red: ok, blue: [...ok.slice(1), -1] }, 'actions[blue][29]', /= -1: expected/],
      [{ red: ok, blue: ok, green: ok }, 'actions.green', /groups red, blue only/],
      [{ red: ok }, 'actions.blue', /expected an array of 30/],
    ];
    for (const [i, [actions, field, re]] of cases.entries()) {
      const id = `bad-${i}`;
      send({ type: 'act', id, actions });
      const r = await rejected(id);
      expect(r.field, id).toBe(field);
      expect(r.message, id).toMatch(re);
    }
    send({ type: 'pause', id: 'p' });
    expect((await rejected('p')).message).toMatch(/external run/);
    // Binary actions: a wrong length is named by group; then a good one steps.
    const bad = encodeActions([new Int32Array(30).fill(6), new Int32Array(29).fill(6)], 'b0');
    c.ws.send(bad);
    expect((await rejected('b0')).field).toBe('actions.blue');
    c.ws.send(encodeActions([new Int32Array(30).fill(6), new Int32Array(30).fill(6)], 'b1'));
    expect((await c.observation('b1')).header.runStep).toBe(1);
    send({ type: 'act', id: 'j', actions: { red: ok, blue: ok } });
    expect((await c.observation('j')).header).toMatchObject({ step: 2, runStep: 2, episode: 0 });
    // steps: 5 -> the run finishes after the fifth step; every client gets `end`.
    for (const id of ['s3', 's4', 's5']) send({ type: 'act', id, actions: { red: ok, blue: ok } });
    await c.observation('s5');
    const end = await c.text((m) => m.type === 'end');
    expect(end.type === 'end' && end.status).toMatchObject({ state: 'finished', step: 5 });
    expect((await server.done).state).toBe('finished');
  }, 30_000);

  it('parses reset/act/finish and round-trips binary actions', () => {
    expect(parseClientMessage('{"type":"reset","seed":3,"id":1}').ok).toBe(true);
    expect(parseClientMessage('{"type":"reset","seed":-1}').ok).toBe(false);
    expect(parseClientMessage('{"type":"finish"}').ok).toBe(true);
    const r = parseClientMessage('{"type":"act","actions":{"red":[1,"x"]}}');
    expect(!r.ok && r.field).toBe('actions.red.1');
    const bytes = encodeActions([Int32Array.of(1, 2, 3), Int32Array.of(-4)], 'x');
    const d = decodeActions(bytes);
    expect(d).toMatchObject({ id: 'x', lengths: [3, 1] });
    expect([...d.body]).toEqual([1, 2, 3, -4]);
  });
});

describe('an external run refuses oversized messages', () => {
  it('a 10 MB message closes the socket with 1009 (message too big)', async () => {
    server = await serveEnvironment(new Battle({ map: 16 }), { port: 0 });
    const ws = new WebSocket(server.url);
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    const code = new Promise<number>((ok) => ws.once('close', (c) => ok(c)));
    ws.on('error', () => {});
    // Sent twice: the server reads the first one's head and stops, with the rest still coming.
    ws.send(Buffer.alloc(10_000_000, 0x20));
    ws.send(Buffer.alloc(10_000_000, 0x20));
    expect(await code).toBe(1009);
  }, 60_000);
});
