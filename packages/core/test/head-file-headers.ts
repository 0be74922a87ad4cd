import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { open } from '../src/crypto/envelope.js'
import { importKey, keyFromString } from '../src/crypto/key.js'
import { decodeCar, decodeHeadRecord } from '../src/format/index.js'
import { loggedFiles } from '../src/storage/write-log.js'

/**
 * Whether the file headers reached from the stored head of a closed Node database (`root`: `<dir>/<name>`)
 * name a file that is not stored: a head written during a compaction's rewrite names, for the tree nodes it
 * shares with the compacted tree, files that compaction deleted. Read from the raw bytes, whatever the code
 * that wrote them.
 */
export async function headNamesDeletedFile(root: string, name: string, key: string): Promise<boolean> {
  const logged = loggedFiles(root)
  const filesDir = join(root, 'files')
  const direct = new Set(existsSync(filesDir) ? readdirSync(filesDir).filter((f) => !f.startsWith('.')) : [])
  const bytesOf = (file: string) => logged.get(file) ?? (direct.has(file) ? readFileSync(join(filesDir, file)) : undefined)
  const dbKey = await importKey(keyFromString(key))
  const [head] = decodeHeadRecord(readFileSync(join(root, 'records', 'head.main')), 'head')
  const stack = [...(head?.files ?? [])]
  const seen = new Set<string>()
  while (stack.length) {
    const file = stack.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    const sealed = bytesOf(file)
    if (!sealed) return true
    const { header } = await decodeCar(await open(dbKey, sealed, file, name), file, { headerOnly: true })
    for (const [holder] of header.locations) stack.push(holder.toString())
  }
  return false
}
