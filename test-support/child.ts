/** What tests that start Gibbs in a child process (npm, node, the CLI) share. */

/**
 * The environment for a child process: this one's, less tsx's loader (NODE_OPTIONS) and what pnpm
 * and npm say of the script that runs the tests (its user agent, lifecycle and package fields), so
 * that the child behaves as if started from a shell.
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(NODE_OPTIONS|npm_config_user_agent|npm_lifecycle_.*|npm_package_.*)$/.test(k))
      env[k] = v;
  }
  return env;
}
