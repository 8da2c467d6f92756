/**
 * `provenance A B` and `provenance A --among DIR`: is B derived from A, from the weights alone
 * (pipeline/provenance.ts; the method in docs/provenance.md).
 */
import { defineCommand } from './command.ts';
import { UserError } from './common.ts';
import { REFERENCES, root } from './history.ts';
import { flag, real, text } from './options.ts';
import { amongText, jsonText, pairText } from './provenanceText.ts';

export const provenanceCommand = defineCommand({
  name: 'provenance',
  usage: ['A B [options]', 'A --among DIR [options]'],
  description: `Is model B derived from model A (fine-tuned, pruned, converted to float16, its hidden units
permuted or rescaled), or trained independently of it? From the weights alone: no data, no
outputs. A's tensors are compared with B's after aligning hidden units, against references:
models trained as A was from other seeds (A's zoo's other runs, or --reference), whose
similarity to B is what independence looks like. The verdict is derived when p < --alpha; the
p-value is exact down to 1/(references + 1) and extrapolated below. B may have another output
layer (a new head): it is left out. With --among DIR every model in DIR is tested against A
and ranked, p-values Holm-adjusted. ${REFERENCES} A and B may also be model files.`,
  positionals: true,
  options: {
    root: root(),
    among: text({
      arg: 'DIR',
      help: 'test every model of DIR (a zoo: its runs; a folder: its model files) against A',
    }),
    reference: text({
      arg: 'ZOO|DIR',
      help: "models trained as A was, from other seeds (default: A's zoo's other runs, else the zoos under --root with A's tensors)",
    }),
    alpha: real({ help: 'verdict derived below this p-value (default 0.01)' }),
    json: flag({ help: 'everything as JSON on stdout' }),
  },
  examples: [
    'npm run provenance -- ffnn-default:3 exports/suspect.safetensors',
    'npm run provenance -- ffnn-default:3 --among downloads/ --json',
    'npm run provenance -- mine.safetensors theirs.safetensors --reference my-seeds/',
  ],
  async run(o, positionals) {
    const { catalogOf, provenanceAmong, provenanceOf } = await import('../pipeline/provenance.ts');
    const catalog = catalogOf(o.root);
    const options = { reference: o.reference, alpha: o.alpha };
    if (o.among !== undefined) {
      if (positionals.length !== 1)
        throw new UserError(
          `give A and --among DIR (got ${positionals.length} models); see npm run provenance -- --help`,
        );
      const r = await provenanceAmong(catalog, positionals[0], o.among, options);
      process.stdout.write(o.json ? jsonText(r) : amongText(r.a, r.referencesFrom, r.candidates));
      return;
    }
    if (positionals.length !== 2)
      throw new UserError(
        `give two models, A and B (got ${positionals.length}); see npm run provenance -- --help`,
      );
    const r = await provenanceOf(catalog, positionals[0], positionals[1], options);
    process.stdout.write(o.json ? jsonText(r) : pairText(r));
  },
});
