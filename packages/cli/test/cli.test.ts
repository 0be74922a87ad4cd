import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@proj/connect-raw'
import { database, type Database } from '@proj/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loggedFilePlaces, loggedFiles } from '../../core/src/storage/write-log.js'
import { proj, projInTerminal, serve } from './run-cli.js'

const root = mkdtempSync(join(tmpdir(), 'proj-cli-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let counter = 0
const fresh = (label: string) => join(root, `${label}-${++counter}`)

/** A local database's stored files and their bytes: `files/` and the small ones in its write log segments. */
function storedFiles(folder: string): Map<string, Uint8Array> {
  const stored = loggedFiles(folder)
  for (const file of readdirSync(join(folder, 'files'))) stored.set(file, readFileSync(join(folder, 'files', file)))
  return stored
}

/** Flips one byte of a stored file where the storage keeps it. */
function flipStoredByte(folder: string, file: string, at: number): void {
  const place = loggedFilePlaces(folder).get(file) ?? { path: join(folder, 'files', file), offset: 0, length: 0 }
  const fd = openSync(place.path, 'r+')
  try {
    const bytes = readFileSync(place.path)
    writeSync(fd, Uint8Array.of(bytes[place.offset + at]! ^ 0x01), 0, 1, place.offset + at)
  } finally {
    closeSync(fd)
  }
}

/** Every id's state through changes(): its document, or 'deleted'. */
async function contents(db: Database): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const row of (await db.changes()).rows) out[row.key] = row.deleted ? 'deleted' : row.value
  return out
}

async function withDb<T>(dir: string, name: string, fn: (db: Database) => Promise<T>, key?: string): Promise<T> {
  const db = database(name, { dir, ...(key ? { key } : {}) })
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}

/** a, c live (a with bytes), b deleted, a field index: returns the data dir and the key. */
async function sampleDatabase(name = 'todos'): Promise<{ dir: string; key: string }> {
  const dir = fresh('data')
  const key = await withDb(dir, name, async (db) => {
    await db.bulk([
      { _id: 'a', title: 'milk', done: false, bytes: new Uint8Array([0, 1, 255]) },
      { _id: 'b', title: 'bread', done: true },
      { _id: 'c', title: 'eggs', tags: ['x', { deep: [1, null, 'é'] }] },
    ])
    await db.del('b')
    await db.query('done', { key: false })
    return db.exportKey()
  })
  return { dir, key }
}

describe('proj --help', () => {
  it('lists every command, and each command teaches its use', async () => {
    const top = await proj(['--help'])
    expect(top.code).toBe(0)
    for (const command of ['serve', 'export', 'inspect', 'verify', 'dump', 'load']) {
      expect(top.stdout).toMatch(new RegExp(`^  ${command} `, 'm'))
      const help = await proj([command, '--help'])
      expect(help.code).toBe(0)
      expect(help.stdout.startsWith(`Usage: proj ${command}`)).toBe(true)
      expect(help.stdout).toMatch(/Examples?:\n {2}proj /)
    }
  })

  it('names an unknown command or option and exits 2', async () => {
    const unknown = await proj(['inspekt'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('"inspekt"')
    const option = await proj(['verify', '.', '--frobnicate'])
    expect(option.code).toBe(2)
    expect(option.stderr).toContain('--frobnicate')
    expect(option.stderr).toContain('proj verify --help')
    const missing = await proj(['dump'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('<dir|url>')
    // An argument too many was ignored: `proj verify ./a ./b` checked ./a and said nothing of ./b.
    const extra = await proj(['verify', root, root])
    expect(extra.code).toBe(2)
    expect(extra.stderr).toContain('proj verify takes <dir|url>; got 2 arguments')
    const pasted = await proj(['load', root, 'in.ndjson', 'zPastedKeyWithoutFlag'])
    expect(pasted.code).toBe(2)
    expect(pasted.stderr).toContain('proj load takes <dir|url> and <file>; got 3 arguments')
    expect(pasted.stderr).not.toContain('zPastedKeyWithoutFlag')
    // `proj help <command>` for a command that does not exist printed the general help with exit code 0.
    const helpFor = await proj(['help', 'lod'])
    expect(helpFor).toEqual({ code: 2, stdout: '', stderr: 'proj help: Unknown command "lod"; commands: serve, export, inspect, verify, dump, load\n' })
    expect((await proj(['help', 'load'])).stdout.startsWith('Usage: proj load')).toBe(true)
  })

  it('proj serve refuses an empty --port and a --dir that is a file, instead of serving', async () => {
    // Number('') is 0: an empty --port served on a random free port; a file as --dir served, failing every request.
    for (const port of ['', ' ', '0x50', '1e3']) {
      const result = await proj(['serve', '--dir', root, '--port', port])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`--port must be 0-65535, got ${JSON.stringify(port)}`)
    }
    const file = join(root, `not-a-folder-${++counter}`)
    writeFileSync(file, 'x')
    const result = await proj(['serve', '--dir', file, '--port', '0'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`--dir ${JSON.stringify(file)} is a file, not a folder`)
  })
})

describe('proj inspect and verify on a local database', () => {
  let sample: { dir: string; key: string }
  beforeAll(async () => {
    sample = await sampleDatabase()
  })

  it('inspect prints documents, heads, files and indexes', async () => {
    const files = [...storedFiles(join(sample.dir, 'todos')).keys()]
    const text = await proj(['inspect', join(sample.dir, 'todos')])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^docs +2 live, 1 deleted$/m)
    expect(text.stdout).toMatch(new RegExp(`^files +${files.length} \\(`, 'm'))
    expect(text.stdout).toMatch(/^heads +1 \(height 2\): bafy/m)
    expect(text.stdout).toMatch(/^indexes +done \(field\)$/m)
    expect(text.stdout).toMatch(/^problems +none$/m)

    const json = await proj(['inspect', sample.dir, '--name', 'todos', '--json'])
    expect(json.code).toBe(0)
    const report = JSON.parse(json.stdout)
    expect(report.docs).toEqual({ live: 2, deleted: 1 })
    expect(report.files.count).toBe(files.length)
    const bytes = [...storedFiles(join(sample.dir, 'todos')).values()].reduce((sum, file) => sum + file.length, 0)
    expect(report.files.bytes).toBe(bytes)
    expect(report.heads).toHaveLength(1)
  })

  it('verify exits 0 on a good database, and 1 naming a file with one flipped byte', async () => {
    const { dir } = await sampleDatabase()
    const good = await proj(['verify', join(dir, 'todos')])
    expect(good.code).toBe(0)
    expect(good.stdout).toMatch(/^ok: \d+ files/m)

    const stored = storedFiles(join(dir, 'todos'))
    const victim = [...stored.keys()].sort()[0]!
    flipStoredByte(join(dir, 'todos'), victim, stored.get(victim)!.length - 5)
    const bad = await proj(['verify', join(dir, 'todos')])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(new RegExp(`^corrupt +${victim}: `, 'm'))
    expect(bad.stderr).toContain('1 bad files')
  })

  it('verify names a file the head needs that is gone', async () => {
    const { dir } = await sampleDatabase()
    const filesDir = join(dir, 'todos', 'files')
    const stored = [...storedFiles(join(dir, 'todos')).keys()]
    // The newest file is the one inspect lists as holding the head; remove every file to be sure a file the
    // head needs is gone (the small ones live in write log segments, removed whole).
    for (const file of readdirSync(filesDir)) rmSync(join(filesDir, file))
    for (const place of ['segments', 'log']) if (existsSync(join(dir, 'todos', place))) rmSync(join(dir, 'todos', place), { recursive: true })
    const result = await proj(['verify', join(dir, 'todos')])
    expect(result.code).toBe(1)
    const missing = [...result.stdout.matchAll(/^missing +(\S+):/gm)].map((match) => match[1])
    expect(missing.length).toBeGreaterThan(0)
    for (const file of missing) expect(stored).toContain(file)
  })

  it('shows a progress line on a terminal, and none with --quiet', async () => {
    const shown = await projInTerminal(['verify', join(sample.dir, 'todos')])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(/checking files \[#+-*\] \d+\/\d+ files/)
    expect(shown.stdout).toMatch(/ok: \d+ files/)
    const quiet = await projInTerminal(['verify', join(sample.dir, 'todos'), '--quiet'])
    expect(quiet.code).toBe(0)
    expect(quiet.stdout).not.toContain('checking files')
    expect(quiet.stdout).toMatch(/ok: \d+ files/)
  })

  it('a wrong key is refused without echoing it', async () => {
    const other = await withDb(fresh('other'), 'x', (db) => db.exportKey())
    const result = await proj(['inspect', join(sample.dir, 'todos'), '--key', other])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('KeyMismatchError')
    expect(result.stderr).not.toContain(other)
  })

  it('a URL carrying a key (a share link) or a password is refused without echoing it', async () => {
    // A share link passed as the URL had its #key=… repeated in every message naming the URL.
    const key = await withDb(fresh('link'), 'x', (db) => db.exportKey())
    const link = await proj(['inspect', `http://127.0.0.1:9/?db=todos#key=${key}`, '--name', 'todos', '--key', key])
    expect(link.code).toBe(2)
    expect(link.stderr).toContain('proj inspect: http://127.0.0.1:9/?db=todos#… has a #fragment')
    expect(link.stderr).not.toContain(key)
    const password = await proj(['dump', 'http://me:s3cret@127.0.0.1:9/', '--name', 'todos', '--key', key])
    expect(password.code).toBe(2)
    expect(password.stderr).toContain('proj dump: http://127.0.0.1:9/ has a user or password in it')
    expect(password.stderr).not.toContain('s3cret')
  })

  it('a folder without a database is an error naming it, and nothing is created there', async () => {
    const empty = fresh('empty')
    const result = await proj(['inspect', empty, '--name', 'todos'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(empty)
    expect(() => readdirSync(empty)).toThrow()
  })
})

describe('proj dump and load', () => {
  it('a round trip keeps every document, bytes included, and brings no deleted one back', async () => {
    const { dir } = await sampleDatabase()
    const dumped = await proj(['dump', join(dir, 'todos')])
    expect(dumped.code).toBe(0)
    expect(dumped.stderr).toBe('') // no progress line when stderr is not a terminal
    const lines = dumped.stdout.trim().split('\n').map((line) => JSON.parse(line))
    expect(lines.map((doc) => doc._id)).toEqual(['a', 'b', 'c'])
    expect(lines[1]).toEqual({ _id: 'b', _deleted: true })

    const target = fresh('restored')
    const loaded = await proj(['load', join(target, 'todos')], { input: dumped.stdout })
    expect(loaded.code).toBe(0)
    const original = await withDb(dir, 'todos', contents)
    const restored = await withDb(target, 'todos', contents)
    expect(restored).toEqual({ a: original.a, c: original.c })
    expect((restored.a as { bytes: unknown }).bytes).toEqual(new Uint8Array([0, 1, 255]))

    // Into an older copy that still has b: the deletion travels, b does not come back.
    const older = fresh('older')
    await withDb(older, 'todos', async (db) => {
      await db.bulk([{ _id: 'b', title: 'bread' }, { _id: 'a', title: 'old milk' }])
    })
    const file = join(root, `dump-${++counter}.ndjson`)
    expect((await proj(['dump', join(dir, 'todos'), '--out', file])).code).toBe(0)
    const again = await proj(['load', join(older, 'todos'), file])
    expect(again.code).toBe(0)
    expect(again.stderr).toContain('1 deleted')
    const merged = await withDb(older, 'todos', contents)
    expect(merged).toEqual({ a: original.a, b: 'deleted', c: original.c })

    // --live leaves deletions out.
    const live = await proj(['dump', join(dir, 'todos'), '--live'])
    expect(live.stdout.trim().split('\n').map((line) => JSON.parse(line)._id)).toEqual(['a', 'c'])
  })

  it('a dump that fails leaves the --out file as it was: an earlier backup is not emptied', async () => {
    // The --out file was truncated before the database opened: a wrong key or a locked database emptied it.
    const { dir } = await sampleDatabase()
    const file = join(root, `backup-${++counter}.ndjson`)
    expect((await proj(['dump', join(dir, 'todos'), '--out', file])).code).toBe(0)
    const backup = readFileSync(file, 'utf8')
    expect(backup.split('\n')).toHaveLength(4)
    const other = await withDb(fresh('other'), 'x', (db) => db.exportKey())
    const failed = await proj(['dump', join(dir, 'todos'), '--key', other, '--out', file])
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain('KeyMismatchError')
    expect(readFileSync(file, 'utf8')).toBe(backup)
    expect(readdirSync(root).filter((name) => name.endsWith('.partial'))).toEqual([])

    const nowhere = join(root, 'no-such-folder', 'x.ndjson')
    const unwritable = await proj(['dump', join(dir, 'todos'), '--out', nowhere])
    expect(unwritable.code).toBe(1)
    expect(unwritable.stderr).toMatch(new RegExp(`^proj dump: Cannot write ${JSON.stringify(nowhere).replaceAll('/', '\\/')}: ENOENT`))
  })

  it('a dump loaded into a new database reads back as written: attachment content, and objects keyed by "/"', async () => {
    // Before, the dump held an attachment's reference only (a new database refused it: the content was not in
    // the backup), and a document's own { "/": { bytes } } object came back as bytes.
    const dir = fresh('slash')
    const photo = new File([new Uint8Array([0xff, 0xd8, 0, 1])], 'p.jpg', { type: 'image/jpeg', lastModified: 1_700_000_000_000 })
    const written = {
      looksLikeBytes: { '/': { bytes: 'AQI' } },
      looksLikeLink: { '/': 'bafyreih5hu4iu3fmz64w6mp623u4gvvj2x2s4cpjldu5nmebenodrpuplm' },
      escapedForm: { '/': { object: { '/': 1 } } },
      nested: [{ '/': { '/': null } }],
      bytes: new Uint8Array([9, 8]),
    }
    await withDb(dir, 'todos', async (db) => {
      await db.put({ _id: 'photo', caption: 'beach', _files: { 'p.jpg': photo, 'n.txt': { data: new Uint8Array([110]), type: 'text/plain' } } })
      await db.put({ _id: 'slash', ...written })
    })
    const dumped = await proj(['dump', join(dir, 'todos')])
    expect(dumped.code).toBe(0)
    const target = fresh('slash-restored')
    const loaded = await proj(['load', join(target, 'todos')], { input: dumped.stdout })
    expect(loaded.stderr).not.toMatch(/names no attachment/)
    expect(loaded.code).toBe(0)
    await withDb(target, 'todos', async (db) => {
      expect(await db.get('slash')).toEqual({ _id: 'slash', ...written })
      const doc = await db.get('photo')
      expect(doc.caption).toBe('beach')
      const files = doc._files as Record<string, { type: string; lastModified?: number; file(): Promise<File> }>
      expect(Object.keys(files).sort()).toEqual(['n.txt', 'p.jpg'])
      expect(files['p.jpg']!.type).toBe('image/jpeg')
      expect(files['p.jpg']!.lastModified).toBe(1_700_000_000_000)
      expect(new Uint8Array(await (await files['p.jpg']!.file()).arrayBuffer())).toEqual(new Uint8Array([0xff, 0xd8, 0, 1]))
      expect(await (await files['n.txt']!.file()).text()).toBe('n')
    })
  })

  it('a document with a field named rows loads as that document, not as a listing of rows', async () => {
    // {"_id":"table","rows":[…]} was taken for an _all_docs listing: each item became a new document with a new
    // id, and the document itself (a dump's line) was lost.
    const dir = fresh('rows')
    const table = { _id: 'table', rows: [{ a: 1 }, { b: 2 }], total: 2 }
    const empty = { _id: 'empty', rows: [] }
    await withDb(dir, 'db', (db) => db.bulk([table, empty]))
    const dumped = await proj(['dump', join(dir, 'db')])
    const target = fresh('rows-restored')
    const plain = '{"rows":[{"a":1}],"note":"a document without _id whose rows are not rows"}'
    const loaded = await proj(['load', join(target, 'db')], { input: `${dumped.stdout}${plain}\n` })
    expect(loaded.code).toBe(0)
    const docs = await withDb(target, 'db', contents)
    expect(docs.table).toEqual(table)
    expect(docs.empty).toEqual(empty)
    expect(Object.keys(docs)).toHaveLength(3)
    expect(Object.values(docs).filter((doc) => (doc as { note?: string }).note)).toEqual([expect.objectContaining({ rows: [{ a: 1 }] })])
  })

  it('a field named __proto__ survives a dump and a load', async () => {
    // Core stores it as an own field and dump writes it, but load assigned it, setting the prototype instead:
    // the document was refused ("expects a document object") and the dump could not be restored.
    const dir = fresh('proto')
    const doc = JSON.parse('{"_id":"p","__proto__":{"x":1},"a":2}') as { _id: string }
    await withDb(dir, 'db', (db) => db.put(doc))
    const dumped = await proj(['dump', join(dir, 'db')])
    expect(dumped.stdout).toBe('{"_id":"p","a":2,"__proto__":{"x":1}}\n')
    const target = fresh('proto-restored')
    const loaded = await proj(['load', join(target, 'db')], { input: dumped.stdout })
    expect(loaded.stderr).toContain('1 documents written')
    expect(loaded.code).toBe(0)
    const restored = await withDb(target, 'db', (db) => db.get('p'))
    expect(Object.getPrototypeOf(restored)).toBe(Object.prototype)
    expect(Object.entries(restored)).toEqual([['_id', 'p'], ['a', 2], ['__proto__', { x: 1 }]])
  })

  it('loads PouchDB/CouchDB _all_docs and _changes, Fireproof rows and plain docs', async () => {
    // _all_docs?include_docs=true as CouchDB writes it: one row per line.
    const couch = [
      '{"total_rows":4,"offset":0,"rows":[',
      '{"id":"_design/app","key":"_design/app","value":{"rev":"1-a"},"doc":{"_id":"_design/app","_rev":"1-a","views":{}}},',
      '{"id":"p1","key":"p1","value":{"rev":"2-b"},"doc":{"_id":"p1","_rev":"2-b","_revisions":{"start":2,"ids":["b","a"]},"name":"pouch","n":1}},',
      '{"id":"p2","key":"p2","value":{"rev":"1-c"},"doc":{"_id":"p2","_rev":"1-c","_attachments":{"note.txt":{"content_type":"text/plain","data":"aGk="}}}}',
      ']}',
    ].join('\n')
    // One JSON object on one line (JSON.stringify of pouch.allDocs({ include_docs: true })).
    const oneLine = JSON.stringify({ total_rows: 1, offset: 0, rows: [{ id: 'p3', key: 'p3', value: { rev: '1-d' }, doc: { _id: 'p3', _rev: '1-d', v: 3 } }] })
    // _changes rows (a deletion of p1), Fireproof rows, a plain doc, a doc without _id.
    const rest = [
      '{"seq":5,"id":"p1","changes":[{"rev":"3-e"}],"deleted":true}',
      '{"key":"f1","value":{"_id":"f1","fire":true}}',
      '{"_id":"d1","plain":[1,2]}',
      '{"id":7,"named":"no _id"}',
    ].join('\n')
    const dir = fresh('migrated')
    const result = await proj(['load', join(dir, 'db'), '--batch', '2'], { input: `${couch}\n${oneLine}\n${rest}\n` })
    expect(result.stderr).toContain('1 design/local documents skipped')
    expect(result.code).toBe(0)
    const docs = await withDb(dir, 'db', contents)
    expect(docs.p1).toBe('deleted')
    expect(docs.p2).toEqual({ _id: 'p2', _attachments: { 'note.txt': { content_type: 'text/plain', data: new TextEncoder().encode('hi') } } })
    expect(docs.p3).toEqual({ _id: 'p3', v: 3 })
    expect(docs.f1).toEqual({ _id: 'f1', fire: true })
    expect(docs.d1).toEqual({ _id: 'd1', plain: [1, 2] })
    expect(docs['_design/app']).toBeUndefined()
    const generated = Object.values(docs).filter((doc) => (doc as { named?: string }).named === 'no _id')
    expect(generated).toHaveLength(1)

    // Its dump restores into a new database: p2's _attachments, bytes by now, were refused as stubs.
    const dumped = await proj(['dump', join(dir, 'db')])
    const restored = fresh('migrated-restored')
    const again = await proj(['load', join(restored, 'db')], { input: dumped.stdout })
    expect(again.stderr).not.toContain('stub')
    expect(again.code).toBe(0)
    expect(await withDb(restored, 'db', contents)).toEqual(Object.fromEntries(Object.entries(docs).filter(([, doc]) => doc !== 'deleted')))
  })

  it('a bad line stops the load naming its line; the lines before it are written', async () => {
    const dir = fresh('bad')
    const input = ['{"_id":"ok1"}', '{"_id":"ok2"}', '{"_id": nope}', '{"_id":"after"}'].join('\n')
    const result = await proj(['load', join(dir, 'db'), '--batch', '1'], { input })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('line 3: not JSON')
    const docs = await withDb(dir, 'db', contents)
    expect(Object.keys(docs).sort()).toEqual(['ok1', 'ok2'])

    const attachmentStub = '{"id":"s","value":{"rev":"1-a"},"doc":{"_id":"s","_attachments":{"a.png":{"stub":true}}}}'
    const stub = await proj(['load', join(dir, 'db')], { input: attachmentStub })
    expect(stub.code).toBe(1)
    expect(stub.stderr).toContain('attachments=true')
  })
})

describe('proj load refuses what it cannot read as written', () => {
  it('bytes or attachment data that are not base64 stop the load naming the line; nothing of it is written', async () => {
    // Node's base64 decoder skips what is not base64: these lines loaded as other bytes (empty, or "ab"), silently.
    const dir = fresh('base64')
    const bytes = await proj(['load', join(dir, 'db')], { input: '{"_id":"ok"}\n{"_id":"a","b":{"/":{"bytes":"@@@!!"}}}\n' })
    expect(bytes.code).toBe(1)
    expect(bytes.stderr).toBe('proj load: line 2: {"/":{"bytes":…}} holds "@@@!!", which is not base64\n')
    const attachment = '{"id":"p","doc":{"_id":"p","_attachments":{"n.txt":{"content_type":"text/plain","data":"a b"}}}}'
    const pouch = await proj(['load', join(dir, 'db')], { input: attachment })
    expect(pouch.code).toBe(1)
    expect(pouch.stderr).toBe('proj load: line 1: attachment "n.txt" of "p" has data that is not base64: "a b"\n')
    expect(Object.keys(await withDb(dir, 'db', contents))).toEqual([])

    // What encoders write, padded or not, still loads.
    const good = await proj(['load', join(dir, 'db')], { input: '{"_id":"a","b":{"/":{"bytes":"AQI"}},"c":{"/":{"bytes":"AQI="}},"e":{"/":{"bytes":""}}}\n' })
    expect(good.code).toBe(0)
    expect(await withDb(dir, 'db', (db) => db.get('a'))).toEqual({ _id: 'a', b: Uint8Array.of(1, 2), c: Uint8Array.of(1, 2), e: new Uint8Array() })
  })

  it('input that is not UTF-8 stops the load instead of storing U+FFFD in place of its bytes', async () => {
    // A Latin-1 export loaded "café" as "caf\uFFFD": Node's decoding replaces what is not UTF-8, silently.
    const dir = fresh('latin1')
    const file = join(root, `latin1-${++counter}.ndjson`)
    writeFileSync(file, Buffer.from('{"_id":"lat","t":"caf\xe9"}\n', 'latin1'))
    const latin1 = await proj(['load', join(dir, 'db'), file])
    expect(latin1.code).toBe(1)
    expect(latin1.stderr).toMatch(/^proj load: The input is not UTF-8 text \(bytes 0-25 hold one that is not\)/)
    const cutFile = join(root, `cut-${++counter}.ndjson`)
    writeFileSync(cutFile, Buffer.from('{"_id":"cut","t":"\xc3', 'latin1'))
    const cut = await proj(['load', join(dir, 'db'), cutFile])
    expect(cut.code).toBe(1)
    expect(cut.stderr).toBe('proj load: The input ends inside a UTF-8 character: it was cut off\n')
    expect(Object.keys(await withDb(dir, 'db', contents))).toEqual([])

    // UTF-8 with a BOM and \r\n line ends loads as written.
    const good = await proj(['load', join(dir, 'db')], { input: '\uFEFF{"_id":"ok","t":"café"}\r\n{"_id":"ok2"}' })
    expect(good.code).toBe(0)
    expect(await withDb(dir, 'db', contents)).toEqual({ ok: { _id: 'ok', t: 'café' }, ok2: { _id: 'ok2' } })
  })

  it('an input file that cannot be read, or a bad --key, is named as such, and no database is made', async () => {
    const dir = fresh('unreadable')
    const missing = join(dir, 'missing.ndjson')
    const absent = await proj(['load', join(dir, 'db'), missing])
    expect(absent.code).toBe(1)
    expect(absent.stderr).toBe(`proj load: Cannot read the input ${JSON.stringify(missing)}: ENOENT: no such file or directory, stat '${missing}'\n`)
    const folder = await proj(['load', join(dir, 'db'), root])
    expect(folder.code).toBe(1)
    expect(folder.stderr).toBe(`proj load: The input ${JSON.stringify(root)} is a folder, not a file\n`)
    expect(existsSync(dir)).toBe(false)

    // A malformed key was reported as a fault of the lines being written ("lines 1-1: Not a database key").
    const badKey = 'zNotAKeyButSecret0'
    const keyed = await proj(['load', join(dir, 'db'), '--key', badKey], { input: '{"_id":"a"}\n' })
    expect(keyed.code).toBe(1)
    expect(keyed.stderr).toMatch(/^proj load: TypeError: Not a database key: /)
    expect(keyed.stderr).not.toContain('line')
    expect(keyed.stderr).not.toContain(badKey)
  })
})

describe('against a running proj serve', () => {
  let store: string
  let server: Awaited<ReturnType<typeof serve>>
  beforeAll(async () => {
    store = fresh('store')
    server = await serve(['--dir', store, '--token', 't0ken'])
  })
  afterAll(async () => {
    expect(await server.stop()).toBe(0)
  })

  it('load, inspect, verify and dump a database through its URL', async () => {
    const { dir, key } = await sampleDatabase()
    const dumped = (await proj(['dump', join(dir, 'todos')])).stdout
    const auth = ['--name', 'todos', '--key', key]
    const loaded = await proj(['load', server.url, ...auth], { input: dumped, env: { PROJ_TOKEN: 't0ken' } })
    expect(loaded.stderr).toContain('2 documents written')
    expect(loaded.code).toBe(0)

    const inspected = await proj(['inspect', server.url, ...auth])
    expect(inspected.code).toBe(0)
    expect(inspected.stdout).toMatch(new RegExp(`^database +todos at ${server.url}, branch main$`, 'm'))
    expect(inspected.stdout).toMatch(/^docs +2 live, 0 deleted$/m)
    expect(inspected.stdout).toMatch(/^meta +1 entries$/m)
    expect(inspected.stdout).toMatch(/^files +1 \(/m)

    const again = await proj(['dump', server.url, ...auth])
    expect(again.stdout).toBe(dumped.split('\n').filter((line) => !line.includes('_deleted')).join('\n'))

    expect((await proj(['verify', server.url, ...auth])).code).toBe(0)
    const [file] = readdirSync(join(store, 'todos', 'data'))
    const path = join(store, 'todos', 'data', file!)
    const bytes = readFileSync(path)
    bytes[30]! ^= 0x80
    writeFileSync(path, bytes)
    const bad = await proj(['verify', server.url, ...auth])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(new RegExp(`^corrupt +${file}: `, 'm'))
  })

  it('a bad line in a load into a URL: the batches before it are pushed, as into a folder', async () => {
    // They were written into the replica only, and never pushed: the URL held none of them.
    const key = await withDb(fresh('key'), 'x', (db) => db.exportKey())
    const auth = ['--name', 'partial', '--key', key, '--token', 't0ken']
    const input = ['{"_id":"ok1"}', '{"_id":"ok2"}', '{"_id": nope}'].join('\n')
    const loaded = await proj(['load', server.url, ...auth, '--batch', '1'], { input })
    expect(loaded.stderr).toContain('line 3: not JSON')
    expect(loaded.code).toBe(1)
    const dumped = await proj(['dump', server.url, ...auth])
    expect(dumped.stdout).toBe('{"_id":"ok1"}\n{"_id":"ok2"}\n')
  })

  it('inspect shows, per backend, what is not uploaded yet', async () => {
    const { dir } = await sampleDatabase('pending')
    await withDb(dir, 'pending', async (db) => {
      const sync = connect.http(db, server.url, { token: 't0ken' })
      await sync.flush()
      await sync.close()
    })
    const synced = await proj(['inspect', join(dir, 'pending')])
    expect(synced.stdout).toMatch(/^backends +http [0-9a-f]{24}: holds everything$/m)
    await withDb(dir, 'pending', (db) => db.put({ _id: 'offline', title: 'written while offline' }))
    const pending = await proj(['inspect', join(dir, 'pending')])
    expect(pending.stdout).toMatch(/^backends +http [0-9a-f]{24}: 1 files \(\d+ B\) not uploaded yet$/m)
  })

  it('export writes a store folder that verify and dump read with the key', async () => {
    const { dir, key } = await sampleDatabase()
    const out = fresh('exported')
    const exported = await proj(['export', '--name', 'todos', '--dir', dir, '--out', out])
    expect(exported.code).toBe(0)
    expect(exported.stdout).toContain('proj serve --read-only')
    const verified = await proj(['verify', out, '--key', key])
    expect(verified.stdout).toMatch(/^ok: /m)
    expect(verified.code).toBe(0)
    const dumped = await proj(['dump', out, '--key', key])
    expect(dumped.stdout.trim().split('\n').map((line) => JSON.parse(line)._id)).toEqual(['a', 'b', 'c'])
    const keyless = await proj(['dump', out])
    expect(keyless.code).toBe(2)
    expect(keyless.stderr).toContain('--key')
  })
})
