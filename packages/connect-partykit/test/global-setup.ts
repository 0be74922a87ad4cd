import type { TestProject } from 'vitest/node'
import { startPartykit, type PartykitDev } from './partykit-dev.js'

export const LOCKED_TOKEN = 'test-room-token'
/** The locked server also has a smaller file limit, to see its 413. */
export const LOCKED_MAX_FILE_BYTES = 1024 * 1024

declare module 'vitest' {
  export interface ProvidedContext {
    /** A dev server without a token: anyone may write. */
    partykitHost: string
    /** A dev server started with `--var PROJ_TOKEN=<LOCKED_TOKEN> --var PROJ_MAX_FILE_BYTES=<LOCKED_MAX_FILE_BYTES>`. */
    lockedHost: string
  }
}

/** Starts two real `partykit dev` servers for the whole run: an open one and one that needs a token. */
export default async function setup(project: TestProject) {
  const started = await Promise.allSettled([startPartykit(), startPartykit({ PROJ_TOKEN: LOCKED_TOKEN, PROJ_MAX_FILE_BYTES: String(LOCKED_MAX_FILE_BYTES) })])
  const failed = started.find((result) => result.status === 'rejected')
  if (failed) {
    await Promise.all(started.map((result) => (result.status === 'fulfilled' ? result.value.stop() : undefined)))
    throw failed.reason
  }
  const [open, locked] = started.map((result) => (result as PromiseFulfilledResult<PartykitDev>).value) as [PartykitDev, PartykitDev]
  project.provide('partykitHost', open.url)
  project.provide('lockedHost', locked.url)
  return async () => {
    await Promise.all([open.stop(), locked.stop()])
  }
}
