// node bench/heap-by-kind.mjs <file.heapsnapshot> [Class,...]: self size by node kind (top 25), then for each
// object of the named classes (default BlockStore,BlockCache) its fields with the size they retain alone
// (the field's object, its hash table, and what only it reaches, up to 3 levels: keys, value arrays).
// WHY=<name substring> [MIN_SIZE=bytes] [SKIP=n]: the shortest retainer path of 3 such nodes.
// BY_PATH=<name substring>: such nodes' self size summed by retainer path (9 levels), e.g. BY_PATH=JSArrayBufferData.
import { readFileSync } from 'node:fs'

const [file, classes = 'BlockStore,BlockCache'] = process.argv.slice(2)
const snap = JSON.parse(readFileSync(file, 'utf8'))
const { node_fields, edge_fields, node_types, edge_types } = snap.snapshot.meta
const NF = node_fields.length
const EF = edge_fields.length
const { nodes, edges, strings } = snap
const nType = node_fields.indexOf('type')
const nName = node_fields.indexOf('name')
const nSize = node_fields.indexOf('self_size')
const nEdges = node_fields.indexOf('edge_count')
const eType = edge_fields.indexOf('type')
const eName = edge_fields.indexOf('name_or_index')
const eTo = edge_fields.indexOf('to_node')
const types = node_types[0]
const etypes = edge_types[0]
const count = nodes.length / NF
const firstEdge = new Uint32Array(count + 1)
for (let i = 0, e = 0; i < count; i++) {
  firstEdge[i] = e
  e += nodes[i * NF + nEdges] * EF
}
firstEdge[count] = edges.length
// How many objects point at each node: what only one parent reaches is counted as that parent's.
const inDegree = new Uint32Array(count)
for (let e = 0; e < edges.length; e += EF) if (etypes[edges[e + eType]] !== 'weak') inDegree[edges[e + eTo] / NF]++

const kind = (i) => `${types[nodes[i * NF + nType]]}:${strings[nodes[i * NF + nName]]}`.slice(0, 80)
const bySelf = new Map()
let total = 0
for (let i = 0; i < count; i++) {
  const k = kind(i)
  const s = nodes[i * NF + nSize]
  total += s
  const v = bySelf.get(k) ?? [0, 0]
  v[0] += s
  v[1]++
  bySelf.set(k, v)
}
console.log(`total ${(total / 1e6).toFixed(1)} MB in ${count} nodes`)
for (const [k, [s, c]] of [...bySelf].sort((a, b) => b[1][0] - a[1][0]).slice(0, 25)) console.log(`${(s / 1e6).toFixed(2).padStart(9)} MB ${String(c).padStart(9)}  ${k}`)

function* children(i) {
  for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += EF) {
    const t = etypes[edges[e + eType]]
    if (t === 'weak' || t === 'shortcut') continue
    const name = t === 'element' || t === 'hidden' ? edges[e + eName] : strings[edges[e + eName]]
    yield [name, edges[e + eTo] / NF, t]
  }
}
// Size of `i` plus what it alone reaches (in-degree 1), to `depth` levels (a Map: table -> entries -> arrays).
function owned(i, depth, seen) {
  if (seen.has(i)) return 0
  seen.add(i)
  let s = nodes[i * NF + nSize]
  if (depth === 0) return s
  for (const [, c] of children(i)) if (inDegree[c] === 1) s += owned(c, depth - 1, seen)
  return s
}
const wanted = new Set(classes.split(','))
for (let i = 0; i < count; i++) {
  const name = strings[nodes[i * NF + nName]]
  if (types[nodes[i * NF + nType]] !== 'object' || !wanted.has(name)) continue
  console.log(`\n${name} @${i}`)
  const rows = []
  for (const [field, c, t] of children(i)) {
    if (t !== 'property' && t !== 'internal') continue
    rows.push([owned(c, 4, new Set()), `${field} (${kind(c)})`])
  }
  for (const [s, label] of rows.sort((a, b) => b[0] - a[0]).slice(0, 14)) console.log(`${(s / 1e6).toFixed(2).padStart(9)} MB  ${label}`)
}

// WHY=substring: the retainer path (shortest from the GC roots) of a few nodes whose name contains it.
if (process.env.WHY) {
  const dist = new Int32Array(count).fill(-1)
  const parentEdge = new Int32Array(count).fill(-1)
  const parent = new Int32Array(count).fill(-1)
  const queue = new Int32Array(count)
  let head = 0
  let tail = 0
  queue[tail++] = 0
  dist[0] = 0
  while (head < tail) {
    const i = queue[head++]
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += EF) {
      if (etypes[edges[e + eType]] === 'weak') continue
      const c = edges[e + eTo] / NF
      if (dist[c] !== -1) continue
      dist[c] = dist[i] + 1
      parent[c] = i
      parentEdge[c] = e
      queue[tail++] = c
    }
  }
  let shown = 0
  const skip = Number(process.env.SKIP ?? 0)
  let seen = 0
  for (let i = 0; i < count && shown < 3; i++) {
    if (!strings[nodes[i * NF + nName]].includes(process.env.WHY)) continue
    if (nodes[i * NF + nSize] < Number(process.env.MIN_SIZE ?? 0)) continue
    if (seen++ < skip) continue
    shown++
    console.log(`\npath to ${kind(i)}`)
    for (let n = i; n > 0 && parent[n] !== -1; n = parent[n]) {
      const e = parentEdge[n]
      const t = etypes[edges[e + eType]]
      const name = t === 'element' || t === 'hidden' ? edges[e + eName] : strings[edges[e + eName]]
      console.log(`  <- [${t} ${String(name).slice(0, 40)}] ${kind(parent[n])}`)
    }
  }
}

// BY_PATH=substring: nodes whose name contains it, their self size summed by retainer path (edge names, 9 levels).
if (process.env.BY_PATH) {
  const parent = new Int32Array(count).fill(-1)
  const parentEdge = new Int32Array(count).fill(-1)
  const queue = new Int32Array(count)
  let head = 0
  let tail = 0
  queue[tail++] = 0
  parent[0] = 0
  while (head < tail) {
    const i = queue[head++]
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += EF) {
      if (etypes[edges[e + eType]] === 'weak') continue
      const c = edges[e + eTo] / NF
      if (parent[c] !== -1) continue
      parent[c] = i
      parentEdge[c] = e
      queue[tail++] = c
    }
  }
  const sums = new Map()
  for (let i = 0; i < count; i++) {
    if (!strings[nodes[i * NF + nName]].includes(process.env.BY_PATH)) continue
    const steps = []
    for (let n = i, d = 0; n > 0 && d < 9 && parentEdge[n] !== -1; n = parent[n], d++) {
      const e = parentEdge[n]
      const t = etypes[edges[e + eType]]
      steps.push(t === 'element' || t === 'hidden' ? `[${t}]` : strings[edges[e + eName]])
      steps.push(strings[nodes[parent[n] * NF + nName]].slice(0, 30))
    }
    const k = steps.join(' < ')
    const v = sums.get(k) ?? [0, 0]
    v[0] += nodes[i * NF + nSize]
    v[1]++
    sums.set(k, v)
  }
  for (const [k, [s, c]] of [...sums].sort((a, b) => b[1][0] - a[1][0]).slice(0, 15)) console.log(`${(s / 1e6).toFixed(2).padStart(8)} MB ${String(c).padStart(7)}  ${k}`)
}
