import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Example } from './examples.js'

/**
 * Writes each example to a file of its own inside this package (so that `@proj/*` imports resolve through the
 * workspace, to the sources) and returns the files and a cleanup.
 */
export async function writeExamples(packageDir: string, examples: readonly Example[]) {
  await mkdir(join(packageDir, '.run'), { recursive: true })
  const dir = await mkdtemp(join(packageDir, '.run', 'examples-'))
  const files = new Map<Example, string>()
  for (const [i, example] of examples.entries()) {
    const slug = example.readme.replace(/\/?README\.md$/, '').replace(/\W+/g, '-') || 'root'
    const file = join(dir, `${String(i).padStart(2, '0')}-${slug}-line${example.line}${example.extension}`)
    await writeFile(file, example.code)
    files.set(example, file)
  }
  return { files, remove: () => rm(dir, { recursive: true, force: true }) }
}
