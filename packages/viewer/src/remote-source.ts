/** A CLI run served with `--serve`, watched over a WebSocket (protocol: core/src/runtime). */
import { GibbsError } from '@gibbs/core';
import type { SimSource } from './source.ts';

/** Check an attach address: ws:// or wss:// with a host and a port. */
export function parseAddress(address: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(address) ? address : `ws://${address}`);
  } catch {
    throw GibbsError.invalid(
      'attach address',
      address,
      'ws://HOST:PORT (e.g. ws://127.0.0.1:8765)',
    );
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw GibbsError.invalid('attach address', address, 'a ws:// or wss:// address');
  }
  if (!url.port) throw GibbsError.invalid('attach address', address, 'an address with a port');
  return url;
}

export const RemoteSource = {
  async connect(address: string): Promise<SimSource> {
    parseAddress(address);
    throw new GibbsError(
      `attach ${address}: not available yet`,
      'attach',
      address,
      'a later build',
    );
  },
};
