import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startPartykitDev, type PartykitDev } from '@proj/test-utils'

export const appDir = join(dirname(fileURLToPath(import.meta.url)), '..')

export type DevServer = PartykitDev

/** Up when both halves answer: the party, and the static page once it is built. */
async function partyAndPageAnswer(url: string): Promise<boolean> {
  const party = await fetch(`${url}/parties/main/probe/meta/main`)
  await party.body?.cancel()
  const page = existsSync(join(appDir, 'public', 'style.css')) ? await fetch(`${url}/style.css`) : undefined
  await page?.body?.cancel()
  return party.ok && (page === undefined || page.ok)
}

/**
 * The todo app's own `partykit dev` (apps/todo/partykit.json: the party + the built page in public/) on a free
 * port with a temp `--persist` dir, offline.
 */
export function startDevServer(): Promise<DevServer> {
  return startPartykitDev({ cwd: appDir, ready: partyAndPageAnswer })
}
