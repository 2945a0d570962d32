/**
 * Debian's chromium for the browser tests, driven by playwright-core. Without /usr/bin/chromium
 * (`apt-get install chromium`) those tests skip with a loud line, except under CI=true, where
 * that is a failure. docs/design.md §9.
 */
import { existsSync } from 'node:fs';
import { serviceUnavailable } from './services';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const haveChromium =
  existsSync(CHROMIUM) ||
  (serviceUnavailable(
    'chromium',
    new Error(`${CHROMIUM} is missing (apt-get install -y --no-install-recommends chromium)`),
  ) ??
    false);
