#!/usr/bin/env node
// Runs the pinned pnpm, installing it from the npm registry on first use: a fresh machine has only Node + npm,
// and corepack's bundled signing keys are stale here (shared/INFRA.md).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1]
const toolDir = join(root, '.tools', `pnpm-${version}`)
const bin = join(toolDir, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs')

if (!existsSync(bin)) {
  console.error(`[pnpm.mjs] installing pnpm@${version} into ${toolDir}`)
  execFileSync('npm', ['install', '--prefix', toolDir, '--no-save', '--no-audit', '--no-fund', `pnpm@${version}`], {
    stdio: 'inherit',
  })
}
// turbo looks pnpm up on PATH: put the pinned one first.
const env = { ...process.env, PATH: `${join(toolDir, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}` }
const result = spawnSync(process.execPath, [bin, ...process.argv.slice(2)], { stdio: 'inherit', cwd: root, env })
process.exit(result.status ?? 1)
