import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { runNodeUntilExit } from '@proj/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { localS3, partykit, projServe, type Backend } from './backends.js'
import { examplesOf, readmes, type Example } from './examples.js'
import { writeExamples } from './workdir.js'

// Executable documentation: every README example not marked `no-run` runs with node, in an empty folder,
// against the real backend it names, and must exit 0 by itself (its close() releases everything).

const packageDir = resolve(import.meta.dirname, '..')
const repo = resolve(packageDir, '../..')
const runnable = readmes(repo)
  .flatMap((file) => examplesOf(repo, file))
  .filter((example) => example.run)

/** ws keeps a closed socket 30 s; a script still running this long after its top-level code finished holds something open. */
const EXIT_BOUND = 25_000
/** The token of the README's `npx proj-serve … --token s3cret`. */
const PROJ_SERVE_TOKEN = 's3cret'

/** An example names its backend by the environment variables it takes URLs and secrets from. */
const KNOWN_VARIABLES = ['PARTYKIT_URL', 'PROJ_ROOM_TOKEN', 'PROJ_TOKEN_SECRET', 'PROJ_SERVE_URL', 'S3_ENDPOINT']
const variablesOf = (example: Example) => [...example.code.matchAll(/process\.env\.(\w+)/g)].map((match) => match[1]!)

let files: Map<Example, string>
let remove = async () => {}
let s3: Promise<Backend> | undefined

beforeAll(async () => {
  ;({ files, remove } = await writeExamples(packageDir, runnable))
  // radosgw takes ~15-20 s to start: start it now, while the other examples run.
  if (runnable.some((example) => variablesOf(example).includes('S3_ENDPOINT'))) {
    s3 = localS3(repo)
    s3.catch(() => {})
  }
})

afterAll(async () => {
  await s3?.then((backend) => backend.stop()).catch(() => {})
  await remove()
})

it('runs the examples of the READMEs that show a script', () => {
  // Guards the extraction itself: these READMEs show scripts, so each must yield at least one run.
  const runs = (readme: string) => runnable.some((example) => example.readme === readme)
  const withScripts = ['README.md', 'core', 'connect-raw', 'connect-partykit', 'connect-s3']
    .map((name) => (name.endsWith('.md') ? name : `packages/${name}/README.md`))
  expect(withScripts.filter((readme) => !runs(readme))).toEqual([])
  for (const example of runnable) {
    const unknown = variablesOf(example).filter((name) => !KNOWN_VARIABLES.includes(name))
    expect(unknown, `${example.title} reads variables no backend here provides`).toEqual([])
  }
})

describe.each(runnable.map((example) => [example.title, example] as const))('%s', (_, example) => {
  it('runs against its backend and exits 0 by itself', async () => {
    /** Started for this example alone (the S3 cluster is shared, stopped in afterAll). */
    const own: Backend[] = []
    const cwd = await mkdtemp(join(tmpdir(), 'readme-example-'))
    try {
      const env: Record<string, string> = {}
      const variables = variablesOf(example)
      if (variables.includes('PROJ_TOKEN_SECRET')) env.PROJ_TOKEN_SECRET = randomBytes(32).toString('base64')
      if (variables.includes('PARTYKIT_URL')) {
        // A fresh server each: the examples reuse the room name 'todos' with keys of their own.
        const vars: Record<string, string> = {}
        if (variables.includes('PROJ_ROOM_TOKEN')) {
          // A server that refuses writes without this token: the example must hand it over.
          env.PROJ_ROOM_TOKEN = vars.PROJ_TOKEN = randomBytes(16).toString('base64url')
        }
        own.push(await partykit(vars))
      }
      if (variables.includes('PROJ_SERVE_URL')) own.push(await projServe(PROJ_SERVE_TOKEN))
      for (const backend of own) Object.assign(env, backend.env)
      if (variables.includes('S3_ENDPOINT')) Object.assign(env, (await s3!).env)

      const { exit, output } = await run(files.get(example)!, cwd, env)
      expect(exit, `${example.title}\n${output}`).toBe(0)
    } finally {
      for (const backend of own) await backend.stop()
      await rm(cwd, { recursive: true, force: true })
    }
  }, 90_000)
})

/** tsx's loader, by path: `--import tsx` would be looked up from the example's temp folder. */
const tsx = pathToFileURL(createRequire(join(packageDir, 'package.json')).resolve('tsx')).href

/** Runs a file as a user would (`node`; tsx for TypeScript and the workspace sources), in `cwd`. */
function run(file: string, cwd: string, env: Record<string, string>) {
  return runNodeUntilExit(['--conditions', 'source', '--import', tsx], file, [], { cwd, env, exitWithinMs: EXIT_BOUND, workWithinMs: 60_000 })
}
