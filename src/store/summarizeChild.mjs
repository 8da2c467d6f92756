// Child process of checkpointSummary.ts: summarises one checkpoint file that failed its hash
// check (see there). Plain JavaScript entry that registers the TypeScript loader itself, so it
// runs whatever started the parent.
import { readFileSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const { summarizeChildMain } = await import('./checkpointSummary.ts');
const path = process.argv[2];
process.stdout.write(summarizeChildMain(path, readFileSync(path)));
