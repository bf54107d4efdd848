#!/usr/bin/env node
/**
 * `pnpm gibbs <command> ...`. Each command is a module in ./commands exporting `describe` (one
 * line of help) and `main(argv)`; adding a command is adding a file.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GibbsError } from '@gibbs/core';
import { StepFailure } from './run.ts';

export interface Command {
  describe: string;
  main(argv: string[]): Promise<number | undefined>;
}

const COMMANDS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'commands');

function commandNames(): string[] {
  return readdirSync(COMMANDS_DIR)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function loadCommand(name: string): Promise<Command | null> {
  const file = join(COMMANDS_DIR, `${name}.ts`);
  if (!/^[a-z][a-z-]*$/.test(name) || !existsSync(file)) return null;
  return (await import(pathToFileURL(file).href)) as Command;
}

async function help(): Promise<void> {
  const lines = ['Usage: pnpm gibbs <command> [options]', '', 'Commands:'];
  for (const name of commandNames()) {
    const cmd = await loadCommand(name);
    if (cmd) lines.push(`  ${name.padEnd(8)} ${cmd.describe}`);
  }
  lines.push('', 'Run `pnpm gibbs <command> --help` for the options of one command.');
  console.log(lines.join('\n'));
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await help();
    return name ? 0 : 1;
  }
  const cmd = await loadCommand(name);
  if (!cmd) {
    console.error(`gibbs: unknown command "${name}"; commands: ${commandNames().join(', ')}`);
    return 2;
  }
  return (await cmd.main(rest)) ?? 0;
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof GibbsError) {
      console.error(`gibbs: ${err.message}`);
      // A failure inside an experiment's code: show where it happened, not only what.
      const cause = err.cause;
      if (err instanceof StepFailure && cause instanceof Error && !(cause instanceof GibbsError)) {
        console.error(`\ncaused by ${cause.stack}`);
      }
    } else console.error(err);
    process.exitCode = 2;
  },
);
