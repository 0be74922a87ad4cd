import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src')

/**
 * The layers of packages/core/src, lowest first (docs/DESIGN.md, "Layers"). A module may import its own layer
 * and the layers below it, never one above. Files not matched by a more specific entry take their folder's
 * layer; the entry points (index.ts, kit.ts, browser.ts, inspect.ts) sit on top.
 */
const LAYERS: string[][] = [
  ['errors.ts'],
  ['format/', 'kit/cid.ts', 'kit/names.ts', 'kit/sha256-cid.ts'],
  ['connector/', 'storage/', 'clock/api.ts'],
  ['crypto/'],
  ['blockstore/'],
  ['crdt/'],
  ['clock/'],
  ['attachments/'],
  ['values/'],
  ['index/'],
  ['sync/'],
  // What connector packages import at run time: share links, the meta-entry wire codec, connect options.
  ['kit/'],
  ['database/'],
  ['index.ts', 'kit.ts', 'browser.ts', 'inspect.ts'],
]

/**
 * Arrows that still point up, each with the reason it is not fixed yet. The test fails when one disappears
 * (delete it here) or a new one appears.
 */
const KNOWN_UPWARD = new Set<string>([])

function layerOf(file: string): number {
  let best = -1
  let bestLength = -1
  LAYERS.forEach((entries, layer) => {
    for (const entry of entries) {
      const matches = entry.endsWith('/') ? file.startsWith(entry) : file === entry
      if (matches && entry.length > bestLength) {
        best = layer
        bestLength = entry.length
      }
    }
  })
  if (best < 0) throw new Error(`${file} is in no layer: add it to LAYERS in test/layers.test.ts`)
  return best
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specifiers = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/g)].map((m) => m[1]!)
  return specifiers.map((spec) => relative(src, resolve(dirname(file), spec)).replace(/\.js$/, '.ts'))
}

it('imports in packages/core/src point down the layers only, with no circle between folders', () => {
  const upward: string[] = []
  const folderEdges = new Map<string, Set<string>>()
  for (const path of sourceFiles(src)) {
    const file = relative(src, path)
    for (const target of imports(path)) {
      if (layerOf(target) > layerOf(file)) upward.push(`${file} -> ${target}`)
      // Root files are their own nodes: errors.ts is the bottom, the entry points the top.
      const node = (f: string) => (dirname(f) === '.' ? f : dirname(f))
      const [from, to] = [node(file), node(target)]
      if (from !== to) {
        if (!folderEdges.has(from)) folderEdges.set(from, new Set())
        folderEdges.get(from)!.add(to)
      }
    }
  }
  expect(upward.filter((arrow) => !KNOWN_UPWARD.has(arrow))).toEqual([])
  expect([...KNOWN_UPWARD].filter((arrow) => !upward.includes(arrow))).toEqual([])
  // A circle between folders other than through the known arrows above.
  const allowed = (from: string, to: string) =>
    [...KNOWN_UPWARD].some((arrow) => arrow.startsWith(`${from}/`) && arrow.includes(`-> ${to}/`))
  const circles: string[] = []
  for (const [from, targets] of folderEdges) {
    for (const to of targets) {
      if (allowed(from, to)) continue
      if (folderEdges.get(to)?.has(from) && !allowed(to, from)) circles.push(`${from} <-> ${to}`)
    }
  }
  expect(circles).toEqual([])
})
