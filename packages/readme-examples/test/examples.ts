import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join, relative } from 'node:path'

/** The languages whose fenced blocks are examples; the file extension each is written to. */
const EXTENSIONS: Record<string, string> = { ts: '.mts', tsx: '.tsx', js: '.mjs', mjs: '.mjs' }

export interface Example {
  /** `packages/connect-raw/README.md` */
  readme: string
  /** 1-based line of the opening fence. */
  line: number
  lang: string
  extension: string
  /** False for fences marked `no-run` (```ts no-run): type-checked only. */
  run: boolean
  code: string
  /** `packages/connect-raw/README.md:6`, for test names and messages. */
  title: string
}

/** Every README.md of the repo: the root's, then each package's and app's. */
export function readmes(repo: string): string[] {
  const nested = ['packages', 'apps'].flatMap((group) =>
    existsSync(join(repo, group)) ? readdirSync(join(repo, group)).sort().map((name) => join(repo, group, name, 'README.md')) : [],
  )
  return [join(repo, 'README.md'), ...nested].filter((file) => existsSync(file))
}

/**
 * The fenced code examples of a README: every ```ts, ```tsx, ```js or ```mjs block. Words after the language
 * are flags: `no-run` keeps the example out of the runs (it still type-checks).
 */
export function examplesOf(repo: string, file: string): Example[] {
  const readme = relative(repo, file)
  const lines = readFileSync(file, 'utf8').split('\n')
  const examples: Example[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!)
    if (!open) continue
    const close = lines.findIndex((text, j) => j > i && text.startsWith('```'))
    if (close === -1) throw new Error(`${readme}:${i + 1}: a code fence that is never closed`)
    const [, lang = '', flags = ''] = open
    const extension = EXTENSIONS[lang]
    if (extension) {
      const code = lines.slice(i + 1, close).join('\n') + '\n'
      const run = !flags.split(/\s+/).includes('no-run')
      examples.push({ readme, line: i + 1, lang, extension, run, code, title: `${readme}:${i + 1}` })
    }
    i = close
  }
  return examples
}
