import { toHex } from 'multiformats/bytes'
import { describe, expect, it } from 'vitest'
import { open, seal } from '../src/crypto/envelope.js'
import { generateKeyBytes, importKey } from '../src/crypto/key.js'
import { decodeEnvelope, IV_LENGTH } from '../src/format/envelope.js'

describe('envelope IVs', () => {
  it('every sealed file gets its own random IV, across many refills of the IV pool', async () => {
    const key = await importKey(generateKeyBytes())
    const plaintext = new TextEncoder().encode('the same bytes every time')
    const seen = new Set<string>()
    const sealed: Uint8Array[] = []
    for (let i = 0; i < 5000; i++) sealed.push(await seal(key, plaintext))
    for (const bytes of sealed) {
      const { iv } = decodeEnvelope(bytes, 'test file')
      expect(iv).toHaveLength(IV_LENGTH)
      seen.add(toHex(iv))
    }
    expect(seen.size).toBe(sealed.length)
    // An IV handed out is a copy: sealing more cannot change an envelope already made.
    const first = toHex(decodeEnvelope(sealed[0]!, 'test file').iv)
    for (let i = 0; i < 1000; i++) await seal(key, plaintext)
    expect(toHex(decodeEnvelope(sealed[0]!, 'test file').iv)).toBe(first)
    expect(new TextDecoder().decode(await open(key, sealed[0]!, 'test file', 'db'))).toBe('the same bytes every time')
  })
})
