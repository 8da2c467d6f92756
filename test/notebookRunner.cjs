/**
 * Runs a Jupyter notebook's code cells in order through tslab's own executor (the code that
 * runs cells inside the tslab kernel: the same TypeScript type check, transpilation, top-level
 * await and shared variables between cells), without Jupyter or its sockets.
 *
 *   node test/notebookRunner.cjs notebooks/01-zoo-and-clusters.ipynb
 *
 * Like Jupyter, it runs in the notebook's folder. Prints each cell's output; stops at the first
 * cell that fails to compile or throws, with exit code 1.
 */
const { readFileSync } = require('node:fs');
const { basename, dirname, resolve } = require('node:path');
const { createConverter } = require('tslab/dist/converter.js');
const { createExecutor } = require('tslab/dist/executor.js');

// what a cell shows with tslab.display (images, HTML) goes to the kernel's socket in Jupyter;
// here a line on stdout names it
require('tslab/dist/jupyter.js').lastWriteDisplayData = (message) => {
  for (const [type, payload] of Object.entries(message.data))
    console.log(`[display ${type}, ${payload.length} characters]`);
};

const path = resolve(process.argv[2] ?? '');
const notebook = JSON.parse(readFileSync(path, 'utf8'));
process.chdir(dirname(path));

const cells = notebook.cells
  .filter((c) => c.cell_type === 'code')
  .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
const convs = {
  node: createConverter({ isJS: false, isBrowser: false }),
  browser: createConverter({ isJS: false, isBrowser: true }),
  close() {
    this.node.close();
    this.browser.close();
  },
};
const executor = createExecutor(process.cwd(), convs, {
  log: (...args) => console.log(...args),
  error: (...args) => console.error(...args),
});

(async () => {
  let failed = null;
  for (let i = 0; i < cells.length && failed === null; i++) {
    console.log(`--- ${basename(path)}: cell ${i + 1} of ${cells.length}`);
    if (!(await executor.execute(cells[i]))) failed = i + 1;
  }
  executor.close();
  convs.close();
  if (failed !== null) {
    console.error(`${basename(path)}: code cell ${failed} failed`);
    process.exit(1);
  }
  console.log(`${basename(path)}: all ${cells.length} code cells ran`);
  process.exit(0);
})();
