/**
 * The Ising phase diagram for docs/results/mean-field.md: the order parameter and the energy per
 * site against temperature, for tabular MF-Q (experiment `ising`) and the MCMC reference
 * (experiment `ising-mcmc`), next to Onsager's infinite-lattice answers. Prints a Markdown table.
 *
 *   pnpm tsx scripts/ising-phase.ts [--size 20] [--seeds 3] [--steps 6000] [--window 3000]
 *                                  [--coolSteps 1000] [--variants]
 *
 * Every run starts from random spins, cools geometrically from τ = 2.5 over `coolSteps` steps
 * (when its τ is lower) and averages over the last `window` steps; each cell is the mean over
 * `seeds` seeds (± the standard deviation across seeds). One MF-Q step is one joint action of all
 * agents; one MCMC step is one sweep. `--variants` adds the two synchronous MF-Q variants (mfrl's
 * code and the paper's indexing under synchronous play).
 */
import { scriptArgs, takeFlag, takeInt } from '@gibbs/cli/args';
import { GibbsError, parseParams, type Simulation } from '@gibbs/core';
import { CRITICAL_TEMPERATURE, onsagerEnergy, onsagerMagnetisation } from '@gibbs/env/ising-mcmc';
import ising from '@gibbs/experiments/ising';
import isingMcmc from '@gibbs/experiments/ising-mcmc';

const USAGE =
  'Usage: pnpm tsx scripts/ising-phase.ts [--size 20] [--seeds 3] [--steps 6000] [--window 3000]\n' +
  '                                      [--coolSteps 1000] [--variants]';
// A mistyped option (--seed for --seeds) is an error, not a silently ignored word.
const { size, seeds, steps, window, coolSteps, variants } = scriptArgs(
  'ising-phase',
  USAGE,
  {
    options: {
      size: { type: 'string' },
      seeds: { type: 'string' },
      steps: { type: 'string' },
      window: { type: 'string' },
      coolSteps: { type: 'string' },
      variants: { type: 'boolean' },
    },
  },
  (args) => {
    const o = {
      size: takeInt(args, 'size', 20, 1),
      seeds: takeInt(args, 'seeds', 3, 1),
      steps: takeInt(args, 'steps', 6000, 1),
      window: takeInt(args, 'window', 3000, 1),
      coolSteps: takeInt(args, 'coolSteps', 1000, 0),
      variants: takeFlag(args, 'variants'),
    };
    if (o.window > o.steps)
      throw GibbsError.invalid('--window', o.window, `at most --steps (${o.steps})`);
    return o;
  },
);
const temps = [0.5, 0.75, 1.0, 1.1, 1.15, 1.2, 1.3, 1.5, 1.75, 2.0, 2.5];

async function measure(sim: Simulation): Promise<{ order: number; energy: number }> {
  let order = 0;
  let energy = 0;
  for (let s = 1; s <= steps; s++) {
    await sim.advance();
    if (s > steps - window) {
      const v = sim.metrics().values;
      order += v.order;
      energy += v.energy;
    }
  }
  return { order: order / window, energy: energy / window };
}

interface Cell {
  order: string;
  energy: string;
}

function summarise(xs: { order: number; energy: number }[]): Cell {
  const f = (k: 'order' | 'energy') => {
    const m = xs.reduce((a, x) => a + x[k], 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x[k] - m) ** 2, 0) / Math.max(1, xs.length - 1));
    return xs.length > 1 ? `${m.toFixed(3)} ± ${sd.toFixed(3)}` : m.toFixed(3);
  };
  return { order: f('order'), energy: f('energy') };
}

type Kind = { label: string; run: (tau: number, seed: number) => Promise<Simulation> };
const common = (tau: number) => ({ size, temperature: tau, coolSteps, startTemperature: 2.5 });
const kinds: Kind[] = [
  {
    label: 'MCMC heat-bath',
    run: async (tau, seed) =>
      isingMcmc.create({
        params: parseParams(isingMcmc.params, common(tau), 'ising-mcmc'),
        seed,
      }),
  },
  {
    label: 'MF-Q',
    run: async (tau, seed) =>
      ising.create({ params: parseParams(ising.params, common(tau), 'ising'), seed }),
  },
];
if (variants) {
  for (const meanAction of ['previous', 'current'] as const) {
    kinds.push({
      label: `MF-Q synchronous, ${meanAction}`,
      run: async (tau, seed) =>
        ising.create({
          params: parseParams(
            ising.params,
            { ...common(tau), schedule: 'synchronous', meanAction },
            'ising',
          ),
          seed,
        }),
    });
  }
}

const t0 = performance.now();
const rows: string[] = [];
for (const tau of temps) {
  const cells: Cell[] = [];
  for (const k of kinds) {
    const xs = [];
    for (let seed = 0; seed < seeds; seed++) xs.push(await measure(await k.run(tau, seed)));
    cells.push(summarise(xs));
  }
  rows.push(
    `| ${tau.toFixed(2)} | ${cells.map((c) => c.order).join(' | ')} | ${onsagerMagnetisation(tau).toFixed(3)} | ${cells.map((c) => c.energy).join(' | ')} | ${onsagerEnergy(tau).toFixed(3)} |`,
  );
  process.stderr.write(`tau ${tau} done\n`);
}
const head = [
  'τ',
  ...kinds.map((k) => `ξ ${k.label}`),
  'M Onsager',
  ...kinds.map((k) => `E/N ${k.label}`),
  'E/N Onsager',
];
console.log(
  `Ising ${size}x${size}, ${seeds} seeds, ${steps} steps (cooling ${coolSteps} from τ 2.5), mean of the last ${window}; τ_c = ${CRITICAL_TEMPERATURE.toFixed(4)}\n`,
);
console.log(`| ${head.join(' | ')} |`);
console.log(`| ${head.map(() => '---').join(' | ')} |`);
for (const r of rows) console.log(r);
console.log(`\n(${((performance.now() - t0) / 1000).toFixed(1)} s on ${process.version})`);
