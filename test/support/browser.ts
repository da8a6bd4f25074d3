/**
 * The browser tests' Chromium: Debian's /usr/bin/chromium (`.ci/run` installs it), or CHROMIUM_PATH.
 * Without it the browser tests are skipped, saying so, rather than failed.
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';

/** node:test `skip` option for a browser suite: the reason when Chromium is missing, else false. */
export const skipWithoutChromium: string | false = existsSync(CHROMIUM) ? false : 'Chromium not installed (apt-get install chromium)';
