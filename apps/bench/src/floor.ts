/**
 * The floor: the raw work any encrypted, content-addressed, durable store must do for the same bytes:
 * AES-256-GCM (WebCrypto) + SHA-256 of the ciphertext + an fsync'd append to one file.
 */
import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { BenchDoc } from './docs.js'

const subtle = globalThis.crypto.subtle
const enc = new TextEncoder()

async function setup(root: string) {
  const key = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt'])
  const path = join(root, 'floor.log')
  const file = await open(path, 'a')
  const seal = async (plain: Uint8Array<ArrayBuffer>) => {
    const iv = globalThis.crypto.getRandomValues(new Uint8Array(12))
    const sealed = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv }, key, plain))
    await subtle.digest('SHA-256', sealed)
    const out = new Uint8Array(12 + sealed.length)
    out.set(iv)
    out.set(sealed, 12)
    return out
  }
  return { file, path, seal }
}

/** One transaction for all docs: one buffer, one encrypt, one hash, one append, one fsync. */
export async function floorBulk(root: string, docs: BenchDoc[]): Promise<{ ms: number; bytes: number }> {
  const { file, path, seal } = await setup(root)
  const t0 = performance.now()
  const plain = enc.encode(JSON.stringify(docs))
  const out = await seal(plain)
  await file.write(out)
  await file.sync()
  const ms = performance.now() - t0
  await file.close()
  return { ms, bytes: (await stat(path)).size }
}

/** Per doc, awaited one by one: encrypt, hash, append, fsync. */
export async function floorSingles(root: string, docs: BenchDoc[]): Promise<{ ms: number; bytes: number }> {
  const { file, path, seal } = await setup(root)
  const t0 = performance.now()
  for (const doc of docs) {
    await file.write(await seal(enc.encode(JSON.stringify(doc))))
    await file.sync()
  }
  const ms = performance.now() - t0
  await file.close()
  return { ms, bytes: (await stat(path)).size }
}
