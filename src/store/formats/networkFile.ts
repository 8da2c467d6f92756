/** A network described in a JSON file (docs/formats.md, "Networks"): read, then checked by core/network.ts. */
import { NetworkError, parseNetwork, type Network } from '../../core/network.ts';
import { readJsonFile } from '../../util/json.ts';

export function readNetworkFile(path: string): Network {
  const json = readJsonFile(path, 'give a JSON file describing the network (docs/formats.md, "Networks")');
  try {
    return parseNetwork(json);
  } catch (err) {
    if (err instanceof NetworkError) throw new NetworkError(`${path}: ${err.message}`);
    throw err;
  }
}
