/**
 * Chromium for the browser tests: Debian's package (`apt-get install chromium`; .ci/run installs it
 * when missing), driven by playwright-core — nothing is downloaded. STEPWISE_CHROMIUM_PATH names
 * another binary.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(): string {
  const explicit = process.env.STEPWISE_CHROMIUM_PATH;
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`STEPWISE_CHROMIUM_PATH=${explicit} does not exist`);
    return explicit;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `No Chromium found (looked at ${CANDIDATES.join(', ')}). Install it with "apt-get install -y chromium" ` +
        '(.ci/run does this), or set STEPWISE_CHROMIUM_PATH.',
    );
  }
  return found;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in CI containers needs --no-sandbox; the rest keeps Chromium off the network and quiet.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
      '--metrics-recording-only',
    ],
  });
}

/** Where screenshots go (test artifacts, git-ignored). */
export function screenshotPath(name: string): string {
  const dir = resolve(__dirname, '..', '.tmp', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.png`);
}
