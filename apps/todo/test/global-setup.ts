import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { appDir, startDevServer } from './dev-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the dev server shared by the test files (see startApp). */
    todoUrl: string
  }
}

/** Builds the page from the current sources, then starts the shared dev server for the whole run. */
export default async function setup(project: TestProject) {
  execFileSync(process.execPath, [join(appDir, 'scripts/build.mjs')], { cwd: appDir, stdio: 'pipe' })
  const server = await startDevServer()
  project.provide('todoUrl', server.url)
  return () => server.stop()
}
