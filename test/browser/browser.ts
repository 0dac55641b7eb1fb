import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ARTIFACTS = join(ROOT, 'test/artifacts');

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  return Math.max(0, ...(await Promise.all(entries.map((entry) => newestMtime(join(path, entry))))));
}

/**
 * The server serves console/dist, built by `npm ci` (the prepare script). Rebuilds it when a console source is
 * newer, so that a test never runs against a stale build.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  const built = await stat(join(ROOT, 'console/dist/index.html')).then((s) => s.mtimeMs, () => 0);
  const sources = await Promise.all(
    ['console/src', 'console/public', 'console/index.html', 'console/vite.config.ts', 'src/delivery/liquid.ts'].map((p) =>
      newestMtime(join(ROOT, p)),
    ),
  );
  if (built > Math.max(...sources)) return;
  // vitest sets NODE_ENV=test, which would make a development build of React.
  await promisify(execFile)(join(ROOT, 'node_modules/.bin/vite'), ['build', 'console', '--logLevel', 'warn'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

/** Debian's chromium (apt), headless; never a browser download. CHROMIUM_PATH names another binary. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`no browser at ${executablePath}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A laptop-sized page that records every console error and uncaught exception, for the test to fail on. */
export async function openPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  return { page, problems };
}

/**
 * Saves a screenshot under test/artifacts/ (git-ignored), and also at `alsoTo` (relative to the repository)
 * when given. Full page unless `fullPage` is false (the laptop-sized viewport only).
 */
export async function screenshot(page: Page, name: string, options: { alsoTo?: string; fullPage?: boolean } = {}): Promise<void> {
  const { alsoTo, fullPage = true } = options;
  await mkdir(ARTIFACTS, { recursive: true });
  const buffer = await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
  if (alsoTo) {
    await mkdir(join(ROOT, alsoTo, '..'), { recursive: true });
    await writeFile(join(ROOT, alsoTo), buffer);
  }
}
