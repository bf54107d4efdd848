/** Discrete active inference (pymdp / SPM conventions), batched over agents. */
export * from './agent.ts';
export * from './control.ts';
export * from './inference.ts';
export * from './inspect.ts';
export * from './learning.ts';
export * from './maths.ts';
export * from './mmp.ts';
export * from './model.ts';
export * from './replay.ts';
