/**
 * The README's screenshot of the dashboard (docs/images/serve-zoo.png): the app over the zoos
 * under zoo/, one zoo's page in headless Chromium once its plane and dendrogram are drawn.
 *
 *   npm run zoo && npm run plot -- --zoo zoo/ffnn-default   # the zoo and its cluster exports
 *   npx tsx scripts/serveScreenshot.ts [--zoo ffnn-default] [--out docs/images/serve-zoo.png]
 */
import { parseArgs } from 'node:util';
import { findChromium, launchChromium } from '../src/plot/browser.ts';
import { startServer } from '../src/server/server.ts';

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: 'zoo' },
    zoo: { type: 'string', default: 'ffnn-default' },
    out: { type: 'string', default: 'docs/images/serve-zoo.png' },
  },
});
const chromium = findChromium();
if (!chromium) throw new Error('no Chromium found: apt-get install chromium, or set CHROMIUM_PATH');
const server = await startServer({ root: values.root!, port: 0 });
const browser = await launchChromium(chromium);
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${server.url}#/zoo/${encodeURIComponent(values.zoo!)}`);
  await page.waitForFunction(
    () =>
      document.querySelector('#plane .scatterlayer') && document.querySelector('#dendrogram .scatterlayer'),
    null,
    { timeout: 300_000 },
  );
  await page.waitForTimeout(500); // the last transitions of the plots
  await page.screenshot({ path: values.out!, fullPage: true });
  console.log(`wrote ${values.out}`);
} finally {
  await browser.close();
  await server.close();
}
