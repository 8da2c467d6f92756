/**
 * A network from a file (docs/formats.md, "Networks"): an ONNX graph (.onnx, onnxNetwork.ts)
 * or a JSON description, read, then checked by core/network.ts.
 */
import { NetworkError, parseNetwork, type Network } from '../../core/network.ts';
import { readJsonFile } from '../../util/json.ts';
import { readOnnxNetwork } from './onnxNetwork.ts';

export function readNetworkFile(path: string): Network {
  if (path.toLowerCase().endsWith('.onnx')) return readOnnxNetwork(path);
  const json = readJsonFile(path, 'give a JSON file describing the network (docs/formats.md, "Networks")');
  try {
    return parseNetwork(json);
  } catch (err) {
    if (err instanceof NetworkError) throw new NetworkError(`${path}: ${err.message}`);
    throw err;
  }
}
