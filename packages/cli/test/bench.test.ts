import { resolve } from 'node:path';
import { forwardFlops } from '@gibbs/agents';
import { environments } from '@gibbs/env';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { benchEnvironment, main } from '../src/commands/bench.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('gibbs bench', () => {
  it('counts the live agents stepped and reports the phases of an environment that has them', async () => {
    const entry = environments.battle;
    const config = entry.config.parse({ map: 30, agents: 20 });
    const r = await benchEnvironment(entry, config, { steps: 5, warmup: 2, seed: 1 });
    // 2 x 20 agents at full hp cannot die in 7 steps (6 hits of 2 are needed, recovery between)
    expect(r.agent_steps).toBe(5 * 40);
    expect(r.alive).toEqual({ red: 20, blue: 20 });
    expect(r.agent_steps_per_s).toBeGreaterThan(0);
    expect(r.agent_steps_per_s).toBeCloseTo(r.agent_steps / ((r.ms_per_step * r.steps) / 1000), 3);
    expect(Object.keys(r.phases_ms).sort()).toEqual(['observations', 'step']);
  });

  it('dispatches by registry name and prints one JSON object with --json', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: unknown) => {
      lines.push(String(s));
    });
    const code = await main(['gather', '--map', '32', '--steps', '3', '--json']);
    expect(code).toBe(0);
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(r.env).toBe('gather');
    expect(r.steps).toBe(3);
    expect(r.agent_steps_per_s).toBeGreaterThan(0);
  });

  it("bench learn prints one JSON object with the learners' rates, FLOPs and update counts", async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: unknown) => {
      lines.push(String(s));
    });
    const argv = ['learn', '--algo', 'mfac', '--agents', '16', '--map', '20', '--steps', '8'];
    expect(await main([...argv, '--batch', '32', '--json'])).toBe(0);
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(r).toMatchObject({ algo: 'mfac', net: 'population', threads: 1, batch: 32, agents: 16 });
    const shape = { view: { height: 13, width: 13, channels: 5 }, features: 24, actions: 21 };
    // MF-AC acts with its actor alone.
    expect(r.flops_per_agent_forward).toBe(
      forwardFlops({ ...shape, meanAction: true }, true, 'population', true),
    );
    // 8 steps x 16 agents = 128 rows, minibatches of 32, at most ceil(200 x 8 / 400) = 4 updates.
    expect(r.updates_cap).toBe(4);
    expect(r.updates).toBe(4);
    for (const k of ['acting_agent_steps_per_s', 'train_agent_steps_per_s', 'update_samples_per_s'])
      expect(r[k]).toBeGreaterThan(0);
    expect(r.train_agent_steps_per_s).toBeLessThan(r.acting_agent_steps_per_s);
    await expect(main(['learn', '--net', 'huge'])).rejects.toThrow(/--net: got "huge"/);
  });

  it('takes the path of a module exporting an environment (an entry with a config, or a factory)', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: unknown) => {
      lines.push(String(s));
    });
    const fixture = (name: string) => resolve(import.meta.dirname, 'fixtures', name);
    expect(await main([fixture('ticker-env.ts'), '--bug', 'none', '--steps', '4', '--json'])).toBe(
      0,
    );
    expect(JSON.parse(lines[0])).toMatchObject({
      env: 'ticker',
      config: { bug: 'none' },
      steps: 4,
    });
    expect(await main([fixture('ticker-factory.ts'), '--steps', '3'])).toBe(0);
    expect(lines[1]).toMatch(/^ticker: 3 steps after 1 warm-up/);
    await expect(main([fixture('ticker-env.ts'), '--bug', 'sometimes'])).rejects.toThrow(
      /environment ticker: parameter --bug: got "sometimes"/,
    );
    await expect(main([fixture('ticker-factory.ts'), '--size', '3'])).rejects.toThrow(
      /^--size: got "3", expected no config options/,
    );
    await expect(main(['./no-such-world.ts'])).rejects.toThrow(
      /^environment module: got "\.\/no-such-world\.ts", expected the path of an existing module/,
    );
  });

  it('rejects an unknown environment and an ill-typed config value', async () => {
    await expect(main(['nope'])).rejects.toThrow(/registered environment/);
    await expect(main(['battle', '--agents', '2xabc'])).rejects.toThrow(/--agents.*"2xabc"/);
  });
});
