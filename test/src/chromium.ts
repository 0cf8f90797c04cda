/** System Chromium (Debian's package, installed by .ci/run) through playwright-core, headless. */
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** A skip reason when Chromium is missing outside CI (in CI it must be there, so the test runs). */
export const chromiumSkip: string | false =
  !existsSync(CHROMIUM) && !process.env.CI
    ? `${CHROMIUM} not found (apt-get install -y chromium); this test always runs in CI`
    : false;

/** System Chromium, headless, with the flags this machine's closed network needs. */
export function launchChromium(userDataDir: string, o: { width?: number; height?: number } = {}) {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: o.width ?? 1280, height: o.height ?? 1100 },
  });
}
