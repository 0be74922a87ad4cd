import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext } from 'playwright-core'

/** Installed by scripts/install-chromium.sh at the repo root (Debian's chromium). */
export const CHROMIUM = '/usr/bin/chromium'

/** Headless and offline: no GPU, no QUIC, no first-run, update, sync or background calls. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-chromium.sh (repo root) first`)
}

/** Headless Chromium with a fresh temporary profile (removed on close); `args` are added to the defaults. */
export async function launchChromium(args: string[] = []): Promise<Browser> {
  requireChromium()
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...ARGS, ...args] })
}

/** Headless Chromium on the profile in `profileDir` (one context whose storage outlives its pages). */
export async function launchChromiumProfile(profileDir: string, args: string[] = []): Promise<BrowserContext> {
  requireChromium()
  return chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: [...ARGS, ...args] })
}
