#!/usr/bin/env node
/**
 * The published packages as a stranger meets them. For every public workspace package:
 *  1. its package.json: MIT LICENSE file, repository, engines, publishConfig.access, sideEffects, and every
 *     export with `types` first and a `default` last (so `require()` works on Node >= 20.19);
 *  2. `pnpm pack` (publish packs the same way): the tarball holds LICENSE and README and no `workspace:` or
 *     `catalog:` range (pnpm rewrites them; `npm pack` would leak them, so releases use pnpm);
 *  3. publint (strict, suggestions included) and arethetypeswrong (profile esm-only: these packages ship ESM
 *     only, so node10 and CJS-typed resolution are out of scope; require() is proven by step 5 instead);
 *  4. all tarballs installed with plain npm into an empty project, their dependencies from the npm registry:
 *     one major of each shared IPLD dependency;
 *  5. examples/*: type-checked with the workspace's `tsc --strict` (nodenext, no DOM lib except for React)
 *     against the installed packages, then run with plain `node`, ESM and, for core, CommonJS require().
 *
 * Usage: node packages/packaging/check-packages.mjs [--json] [--keep]
 * Prints one line per problem (or, with --json, `{ packages: { name: problems[] }, project: problems[] }`)
 * and exits 1 when there is any. --keep leaves the temporary project in place for a look.
 */
import { execFile, spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const examplesDir = join(here, 'examples')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const run = promisify(execFile)
/** Dependencies a user must get in one major only: two copies of multiformats make CIDs fail `instanceof`. */
const singleMajor = ['multiformats', '@ipld/car', '@ipld/dag-cbor', 'cborg']
/** A finished example that keeps running holds a socket or timer it was told to close. */
const EXAMPLE_TIMEOUT_MS = 60_000

const startedAt = Date.now()
const log = (line) => process.stderr.write(`[check-packages] ${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${line}\n`)

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'))
}

/** Public workspace packages: every packages/* folder whose package.json is not private. */
export function publicPackages() {
  return readdirSync(join(root, 'packages'))
    .map((name) => join(root, 'packages', name))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: readJson(join(dir, 'package.json')) }))
    .filter(({ manifest }) => !manifest.private)
}

/** What package.json itself must say; `folder` is the package's folder under packages/. */
export function manifestProblems(manifest, folder) {
  const problems = []
  if (manifest.license !== 'MIT') problems.push(`license is ${JSON.stringify(manifest.license)}, expected "MIT"`)
  const repository = manifest.repository
  if (typeof repository?.url !== 'string' || repository.directory !== `packages/${folder}`) {
    problems.push(`repository must be { type, url, directory: "packages/${folder}" }, got ${JSON.stringify(repository)}`)
  }
  if (manifest.engines?.node !== '>=20.19') problems.push(`engines.node is ${JSON.stringify(manifest.engines?.node)}, expected ">=20.19"`)
  if (manifest.publishConfig?.access !== 'public') problems.push('publishConfig.access is not "public"')
  if (manifest.sideEffects === undefined) problems.push('sideEffects is not declared')
  if (manifest.type !== 'module') problems.push('type is not "module"')
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target === 'string') continue
    const keys = Object.keys(target)
    if (keys.at(-1) !== 'default') problems.push(`exports["${subpath}"] must end with a "default" condition (require() needs it); has ${keys.join(', ')}`)
    const typesAt = keys.indexOf('types')
    const firstRuntime = keys.findIndex((key) => key !== 'source' && key !== 'types')
    if (typesAt < 0 || typesAt > firstRuntime) problems.push(`exports["${subpath}"] must list "types" before ${keys[firstRuntime]}`)
  }
  if (!manifest.exports?.['.']) problems.push('exports has no "." entry')
  return problems
}

/** Packs `dir` with the workspace's pinned pnpm; resolves to the tarball's path. */
async function pnpmPack(dir, destination) {
  const { stdout } = await run(process.execPath, [join(root, 'scripts', 'pnpm.mjs'), '-C', dir, 'pack', '--json', '--pack-destination', destination], {
    maxBuffer: 64 * 1024 * 1024,
  })
  return JSON.parse(stdout.slice(stdout.indexOf('{'))).filename
}

async function tarballProblems(tarball) {
  const problems = []
  const { stdout: listing } = await run('tar', ['-tzf', tarball], { maxBuffer: 64 * 1024 * 1024 })
  const files = new Set(listing.split('\n'))
  for (const required of ['package/LICENSE', 'package/README.md', 'package/package.json']) {
    if (!files.has(required)) problems.push(`tarball has no ${required.slice('package/'.length)}`)
  }
  const { stdout } = await run('tar', ['-xzOf', tarball, 'package/package.json'])
  const packed = JSON.parse(stdout)
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
    for (const [name, range] of Object.entries(packed[field] ?? {})) {
      if (/^(workspace|catalog):/.test(range)) problems.push(`packed ${field}["${name}"] is "${range}": not installable outside the workspace`)
    }
  }
  return { problems, packed }
}

async function publintProblems(tarball) {
  const { publint } = await import('publint')
  const { formatMessage } = await import('publint/utils')
  const bytes = readFileSync(tarball)
  const { messages, pkg } = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }, strict: true, level: 'suggestion' })
  return messages.map((message) => `publint ${message.type}: ${formatMessage(message, pkg, { color: false }) ?? message.code}`)
}

async function attwProblems(tarball) {
  const { createPackageFromTarballData, checkPackage } = await import('@arethetypeswrong/core')
  const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(readFileSync(tarball))))
  if (!analysis.types) return ['arethetypeswrong: the package ships no types']
  const ignored = new Set(['node10', 'node16-cjs'])
  return analysis.problems
    .filter((problem) => !('resolutionKind' in problem) || !ignored.has(problem.resolutionKind))
    .map((problem) => `arethetypeswrong ${problem.kind}: ${JSON.stringify(problem)}`)
}

function installedVersion(fromDir, name) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const file = join(dir, 'node_modules', name, 'package.json')
    if (existsSync(file)) return readJson(file).version
    if (dir === root) throw new Error(`${name} is not installed in the workspace (run node scripts/pnpm.mjs install)`)
  }
}

/** Every version of `name` anywhere in an `npm ls --all --json` tree. */
function versionsIn(tree, name, found = new Set()) {
  for (const [dep, node] of Object.entries(tree.dependencies ?? {})) {
    if (dep === name && node.version) found.add(node.version)
    versionsIn(node, name, found)
  }
  return found
}

/** examples/<folder>[-what].<ext> exercises packages/<folder>. */
function exampleFolder(file, folders) {
  const stem = basename(file).replace(/\.[cm]?tsx?$/, '')
  return folders.filter((folder) => stem === folder || stem.startsWith(`${folder}-`)).sort((a, b) => b.length - a.length)[0]
}

function runNode(file, cwd) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), EXAMPLE_TIMEOUT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, output })
    })
  })
}

export async function checkPackages({ keep = false } = {}) {
  const started = Date.now()
  const packages = publicPackages()
  const byFolder = new Map(packages.map((pkg) => [basename(pkg.dir), pkg]))
  const report = Object.fromEntries(packages.map(({ manifest }) => [manifest.name, []]))
  const problemsOf = (folder) => report[byFolder.get(folder).manifest.name]
  const project = []
  const work = mkdtempSync(join(tmpdir(), 'proj-packaging-'))
  try {
    for (const [folder, { dir, manifest }] of byFolder) {
      problemsOf(folder).push(...manifestProblems(manifest, folder))
      if (!existsSync(join(dir, 'LICENSE'))) problemsOf(folder).push('no LICENSE file in the package folder')
    }

    log(`packing ${packages.length} packages with pnpm`)
    const tarballDir = join(work, 'tarballs')
    mkdirSync(tarballDir)
    const tarballs = new Map()
    for (const [folder, { dir }] of byFolder) tarballs.set(folder, await pnpmPack(dir, tarballDir))

    log('inspecting tarballs: contents, publint, arethetypeswrong')
    for (const [folder, tarball] of tarballs) {
      const { problems } = await tarballProblems(tarball)
      problemsOf(folder).push(...problems, ...(await publintProblems(tarball)), ...(await attwProblems(tarball)))
    }

    log('installing the tarballs with npm into an empty project')
    const app = join(work, 'app')
    mkdirSync(join(app, 'examples'), { recursive: true })
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'stranger', private: true, type: 'module' }, null, 2))
    const reactDir = byFolder.get('react')?.dir ?? root
    const extras = [
      `@types/node@${installedVersion(root, '@types/node')}`,
      `multiformats@${installedVersion(byFolder.get('core').dir, 'multiformats')}`,
      `react@${installedVersion(reactDir, 'react')}`,
      `@types/react@${installedVersion(reactDir, '@types/react')}`,
    ]
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs.values(), ...extras], {
      cwd: app,
      maxBuffer: 64 * 1024 * 1024,
    })
    const { stdout: lsJson } = await run('npm', ['ls', '--all', '--json'], { cwd: app, maxBuffer: 256 * 1024 * 1024 }).catch((error) => error)
    const tree = JSON.parse(lsJson)
    for (const name of singleMajor) {
      const majors = new Set([...versionsIn(tree, name)].map((version) => version.split('.')[0]))
      if (majors.size > 1) project.push(`npm installs ${majors.size} majors of ${name}: ${[...versionsIn(tree, name)].join(', ')}`)
    }

    const examples = readdirSync(examplesDir).filter((file) => /\.[cm]?tsx?$/.test(file))
    const folderOfExample = new Map(examples.map((file) => [file, exampleFolder(file, [...byFolder.keys()])]))
    for (const folder of byFolder.keys()) {
      if (![...folderOfExample.values()].includes(folder)) problemsOf(folder).push(`no example in ${examplesDir}`)
    }
    for (const file of examples) copyFileSync(join(examplesDir, file), join(app, 'examples', file))

    log('type-checking the examples with tsc --strict')
    const compilerOptions = {
      strict: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      lib: ['es2023'],
      types: ['node'],
      rootDir: 'examples',
      outDir: 'out',
      skipLibCheck: false,
      // Emit despite type errors: each example still runs, so one failure does not hide another.
      noEmitOnError: false,
    }
    // React code runs in a page: it alone gets the DOM library; the rest must compile for plain Node.
    const configs = {
      'tsconfig.node.json': { compilerOptions, include: ['examples'], exclude: ['examples/react*'] },
      'tsconfig.react.json': { compilerOptions: { ...compilerOptions, lib: ['es2023', 'dom'] }, include: ['examples/react*'] },
    }
    for (const [name, config] of Object.entries(configs)) {
      writeFileSync(join(app, name), JSON.stringify(config, null, 2))
      const result = await run(process.execPath, [tsc, '-p', name, '--pretty', 'false'], { cwd: app, maxBuffer: 64 * 1024 * 1024 }).catch((error) => error)
      for (const line of `${result.stdout ?? ''}`.split('\n').filter((text) => text.includes('error TS'))) {
        const inPackage = /node_modules\/@proj\/([^/]+)\//.exec(line)?.[1]
        const folder = inPackage && byFolder.has(inPackage) ? inPackage : folderOfExample.get(basename(line.split('(')[0]))
        ;(folder ? problemsOf(folder) : project).push(`tsc --strict (${name}): ${line.trim()}`)
      }
      if (result.code && !`${result.stdout ?? ''}`.includes('error TS')) project.push(`tsc -p ${name} failed: ${result.stderr || result.message}`)
    }

    log('running the examples with node')
    for (const file of examples) {
      const compiled = join(app, 'out', file.replace(/\.cts$/, '.cjs').replace(/\.mts$/, '.mjs').replace(/\.tsx?$/, '.js'))
      const folder = folderOfExample.get(file)
      const target = folder ? problemsOf(folder) : project
      if (!existsSync(compiled)) {
        target.push(`tsc emitted no ${basename(compiled)} for examples/${file}`)
        continue
      }
      const { code, signal, output } = await runNode(compiled, app)
      if (signal) target.push(`node out/${basename(compiled)} did not exit within ${EXAMPLE_TIMEOUT_MS / 1000} s: something stays open after close()`)
      else if (code !== 0) target.push(`node out/${basename(compiled)} exited ${code}: ${output.trim().split('\n').slice(0, 12).join('\n')}`)
      else if (!/^ok /m.test(output)) target.push(`node out/${basename(compiled)} printed no "ok" line: ${output.trim()}`)
    }
  } finally {
    if (keep) log(`kept ${work}`)
    else rmSync(work, { recursive: true, force: true })
  }
  return { packages: report, project, seconds: Math.round((Date.now() - started) / 100) / 10 }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await checkPackages({ keep: process.argv.includes('--keep') })
  const problems = [...Object.entries(result.packages).flatMap(([name, list]) => list.map((problem) => `${name}: ${problem}`)), ...result.project]
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else for (const line of problems) console.log(line)
  log(`${problems.length} problem(s) in ${Object.keys(result.packages).length} packages, ${result.seconds} s`)
  process.exitCode = problems.length ? 1 : 0
}
