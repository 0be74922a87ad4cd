import { join, resolve } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { examplesOf, readmes, type Example } from './examples.js'
import { typeErrors } from './typecheck.js'
import { writeExamples } from './workdir.js'

// Every fenced ts/tsx/js example of every README type-checks: strict TypeScript, checkJs for JavaScript,
// against the workspace sources. Examples that cannot run here (`no-run`: a browser, a cloud account, a
// test file) are held to this; the others also run (run.test.ts).

const packageDir = resolve(import.meta.dirname, '..')
const repo = resolve(packageDir, '../..')
const examples = readmes(repo).flatMap((file) => examplesOf(repo, file))
let files: Map<Example, string>
let remove = async () => {}

beforeAll(async () => {
  ;({ files, remove } = await writeExamples(packageDir, examples))
})
afterAll(() => remove())

it('finds the examples of every README with code', () => {
  // Guards the extraction itself: each of these READMEs has at least one example.
  const has = (readme: string) => examples.some((example) => example.readme === readme)
  const withCode = ['README.md', 'core', 'connect-raw', 'connect-partykit', 'connect-s3', 'connect-ipfs', 'react', 'connector-tests']
    .map((name) => (name.endsWith('.md') ? name : `packages/${name}/README.md`))
  expect(withCode.filter((readme) => !has(readme))).toEqual([])
})

it('every example type-checks', () => {
  const errors = typeErrors(join(packageDir, 'tsconfig.json'), [...files.values()])
  const report = examples.flatMap((example) =>
    (errors.get(files.get(example)!) ?? []).map(
      // As lines of the README: the example's first line follows its fence.
      (error) => `${example.readme}: ${error.replace(/^line (\d+):/, (_, line: string) => `line ${example.line + Number(line)}:`)}`,
    ),
  )
  expect(report).toEqual([])
}, 120_000)
