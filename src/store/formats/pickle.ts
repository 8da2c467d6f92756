/** PyTorch pickles (.pt, .pth, ...): recognised by name, never read, with the way to convert them. */

export const PICKLE = /\.(pt|pth|bin|ckpt|pkl)$/i;

export const PICKLE_ADVICE =
  'PyTorch pickles can run code when loaded, so they are not read; convert them with ' +
  '`from safetensors.torch import save_file; save_file(torch.load(p, weights_only=True), p.replace(".pt", ".safetensors"))` ' +
  '(or, without the safetensors package, the save_safetensors function in docs/formats.md)';
