/**
 * Local mean action (packages/core/src/meanfield.ts): the summed-area version's cost per agent
 * should stay flat as the radius and the population grow, while brute force grows with N.
 * Agents are placed uniformly at random on a square grid with density 1/8 (Battle-like), one of
 * 21 actions each.
 */
import { groupMeanAction, LocalMeanField, localMeanActionReference, Rng } from '@gibbs/core';
import { printTable, type Row, timeMedian, writeResult } from './lib.ts';

const ACTIONS = 21;

function population(n: number, side: number, rng: Rng) {
  const x = new Int32Array(n);
  const y = new Int32Array(n);
  const act = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = rng.int(side);
    y[i] = rng.int(side);
    act[i] = rng.int(ACTIONS);
  }
  return { x, y, act, alive: new Uint8Array(n).fill(1) };
}

const rows: Row[] = [];
const rng = new Rng(1);
for (const n of [1_000, 10_000, 100_000]) {
  const side = Math.ceil(Math.sqrt(n * 8));
  const p = population(n, side, rng);
  const out = new Float32Array(n * ACTIONS);
  for (const radius of [1, 6, 20]) {
    const opts = { width: side, height: side, actions: ACTIONS, radius };
    const mf = new LocalMeanField(opts);
    const reps = n >= 100_000 ? 5 : 20;
    const ms = await timeMedian(() => mf.compute(p.x, p.y, p.alive, p.act, out), reps);
    const row: Row = {
      agents: n,
      grid: `${side}x${side}`,
      radius,
      'SAT ms': ms,
      'SAT ns/agent': (ms * 1e6) / n,
    };
    // Brute force is O(N^2): only where it finishes in reasonable time.
    if (n <= 10_000) {
      const ref = new Float32Array(n * ACTIONS);
      const bms = await timeMedian(
        () => localMeanActionReference(opts, p.x, p.y, p.alive, p.act, ref),
        n <= 1000 ? 5 : 1,
        n <= 1000 ? 1 : 0,
      );
      row['brute ms'] = bms;
      row['brute/SAT'] = bms / ms;
    }
    rows.push(row);
  }
  const gms = await timeMedian(() => groupMeanAction(p.act, p.alive, ACTIONS), 20);
  rows.push({
    agents: n,
    grid: 'group mean',
    radius: null,
    'SAT ms': gms,
    'SAT ns/agent': (gms * 1e6) / n,
  });
}
printTable('Local mean action, 21 actions, density 1/8: summed-area table vs brute force', rows);
console.log(`wrote ${writeResult('meanfield', rows)}`);
