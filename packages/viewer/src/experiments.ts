/** The experiments the page can run, and their parameters as form fields. */

import { experiments } from 'virtual:gibbs-experiments';
import { type Experiment, GibbsError, isExperiment } from '@gibbs/core';

/** How the page names one of its experiments to its worker (sim-worker.ts). */
export const EXPERIMENT_SCHEME = 'gibbs-experiment:';

export function experimentNames(): string[] {
  return Object.keys(experiments).sort();
}

/** The reference of an experiment for the page's worker. */
export function experimentRef(name: string): string {
  if (!experiments[name])
    throw GibbsError.invalid('experiment', name, `one of ${experimentNames().join(', ')}`);
  return `${EXPERIMENT_SCHEME}${name}`;
}

export async function loadBrowserExperiment(name: string): Promise<Experiment> {
  const load = experiments[name];
  if (!load) {
    throw GibbsError.invalid(
      'experiment',
      name,
      `one of ${experimentNames().join(', ') || '(none)'}`,
    );
  }
  const mod = await load();
  const candidate = mod.default ?? mod.experiment;
  if (!isExperiment(candidate)) {
    throw new GibbsError(
      `experiment ${name}: the module exports no experiment (found: ${Object.keys(mod).join(', ')})`,
      'experiment',
      name,
      'a default export made with defineExperiment',
    );
  }
  return candidate;
}

export interface ParamField {
  name: string;
  kind: 'number' | 'integer' | 'boolean' | 'string' | 'enum' | 'other';
  default: unknown;
  description: string;
  min?: number;
  max?: number;
  options?: string[];
  live: boolean;
}

interface JsonSchemaNode {
  type?: string;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  enum?: unknown[];
}

/** The parameters of an experiment, read from its zod schema's JSON Schema. */
export function paramFields(exp: Experiment): ParamField[] {
  const schema = (
    exp.params as unknown as { toJSONSchema(): { properties?: Record<string, JsonSchemaNode> } }
  ).toJSONSchema();
  const live = new Set(exp.liveParams ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, node]) => {
    const bound = (v: number | undefined) =>
      v !== undefined && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined;
    const kind: ParamField['kind'] = Array.isArray(node.enum)
      ? 'enum'
      : node.type === 'integer' ||
          node.type === 'number' ||
          node.type === 'boolean' ||
          node.type === 'string'
        ? node.type
        : 'other';
    return {
      name,
      kind,
      default: node.default,
      description: node.description ?? '',
      min: bound(node.minimum ?? node.exclusiveMinimum),
      max: bound(node.maximum ?? node.exclusiveMaximum),
      options: Array.isArray(node.enum) ? node.enum.map(String) : undefined,
      live: live.has(name),
    };
  });
}
