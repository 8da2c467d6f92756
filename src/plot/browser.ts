/**
 * Opening the plot pages in headless Chromium (Debian's `chromium` package, driven by
 * playwright-core; never a downloaded browser): PNG screenshots for `npm run plot -- --png`,
 * and what the browser test checks (traces and points actually drawn, console errors).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/** The Chromium to use: `explicit`, else $CHROMIUM_PATH, else the usual Debian paths; null if none. */
export function findChromium(explicit?: string): string | null {
  if (explicit) return existsSync(explicit) ? explicit : null;
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export const NO_CHROMIUM =
  'no Chromium found: install it (apt-get install chromium) or name it with --chromium PATH or $CHROMIUM_PATH';

/**
 * A headless Chromium that stays off the network (the flags keep it from calling home) and
 * draws WebGL (Plotly's 3D scenes) in software.
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--enable-unsafe-swiftshader',
      '--use-angle=swiftshader',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What one page drew: per figure, its traces' types and the points each trace drew. */
export interface RenderedPage {
  file: string;
  figures: { traces: number; types: string[]; points: number[] }[];
  /** Console errors and uncaught exceptions on the page. */
  errors: string[];
  /** Requests the page made beyond its own file (an offline page makes none). */
  requests: string[];
}

export interface RenderOptions {
  /** Write a full-page screenshot here. */
  png?: string;
  width?: number;
  timeoutMs?: number;
}

/**
 * Opens a page and waits for its figures (window.plotsReady, set by page.ts). Points are
 * counted from what Plotly drew: SVG marker paths of 2D scatter traces, the data of 3D
 * traces (WebGL has no DOM to count).
 */
export async function renderPage(
  browser: Browser,
  file: string,
  options: RenderOptions = {},
): Promise<RenderedPage> {
  const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: 800 } });
  const errors: string[] = [];
  const requests: string[] = [];
  const url = pathToFileURL(resolve(file)).href;
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on(
    'request',
    (req) => req.url() !== url && !req.url().startsWith('data:') && requests.push(req.url()),
  );
  try {
    await page.goto(url);
    await page.waitForFunction(
      () =>
        (window as unknown as { plotsReady?: boolean; plotsError?: string }).plotsReady ||
        (window as unknown as { plotsError?: string }).plotsError,
      null,
      {
        timeout: options.timeoutMs ?? 60_000,
      },
    );
    const figures = await page.evaluate(() =>
      [...document.querySelectorAll('.js-plotly-plot')].map((gd) => {
        const data = (gd as unknown as { _fullData: { type: string; visible: boolean | string }[] })
          ._fullData;
        const svgTraces = [...gd.querySelectorAll('.scatterlayer .trace')];
        let svg = 0;
        return {
          traces: data.length,
          types: data.map((t) => t.type),
          points: data.map((t) => {
            if (t.type === 'scatter') return svgTraces[svg++]?.querySelectorAll('path.point').length ?? 0;
            const d = t as unknown as { x?: unknown[] };
            return Array.isArray(d.x) ? d.x.length : 0;
          }),
        };
      }),
    );
    const failure = await page.evaluate(() => (window as unknown as { plotsError?: string }).plotsError);
    if (failure) errors.push(`plot failed: ${failure}`);
    if (options.png) await page.screenshot({ path: options.png, fullPage: true });
    return { file, figures, errors, requests };
  } finally {
    await page.close();
  }
}
