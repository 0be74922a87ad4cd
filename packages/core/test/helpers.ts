import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'

const dirs: string[] = []

/** A fresh temp directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'proj-core-'))
  dirs.push(dir)
  return dir
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

export function dataFiles(dir: string, name: string): string[] {
  return readdirSync(join(dir, name, 'files')).filter((f) => !f.startsWith('.'))
}

export function readDataFile(dir: string, name: string, file: string): Buffer {
  return readFileSync(join(dir, name, 'files', file))
}
