import { CarBufferReader } from '@ipld/car/buffer-reader'
import * as dagCbor from '@ipld/dag-cbor'

/** Why the service's side of an upload failed, as the receipts the client polled tell it. */
export type ReceiptProblem =
  /** A receipt carries an error: the task's ability, the error's name and message. */
  | { kind: 'failed'; ability: string; name: string; message: string }
  /** The newest answer of the receipts endpoint is not a receipt: an HTTP error or other bytes. */
  | { kind: 'unreadable'; url: string; detail: string }

interface ReceiptBlock {
  ocm?: { ran?: unknown; out?: { error?: { name?: unknown; message?: unknown } } }
}

interface TaskBlock {
  att?: { can?: unknown }[]
}

/** The failed receipts in one ucanto agent message (a CAR), each with the ability of the task it ran. */
function failuresIn(bytes: Uint8Array): ReceiptProblem[] {
  const blocks = new Map<string, unknown>()
  for (const block of CarBufferReader.fromBytes(bytes).blocks()) {
    if (block.cid.code === dagCbor.code) blocks.set(block.cid.toString(), dagCbor.decode(block.bytes))
  }
  if (blocks.size === 0) throw new Error('no dag-cbor block')
  const failures: ReceiptProblem[] = []
  for (const value of blocks.values()) {
    const error = (value as ReceiptBlock)?.ocm?.out?.error
    if (!error || typeof error !== 'object') continue
    const task = blocks.get(String((value as ReceiptBlock).ocm?.ran)) as TaskBlock | undefined
    const ability = task?.att?.[0]?.can
    failures.push({
      kind: 'failed',
      ability: typeof ability === 'string' ? ability : 'task',
      name: typeof error.name === 'string' ? error.name : 'Error',
      message: typeof error.message === 'string' ? error.message : '',
    })
  }
  return failures
}

/** The address without its query (which may carry a signature). */
function shown(url: string): string {
  const parsed = URL.parse(url)
  return parsed ? `${parsed.origin}${parsed.pathname}` : url
}

/**
 * A fetch for the w3up client to use during one upload that keeps the receipts it polls (the answers to GET):
 * when the service's own step failed, `@web3-storage/upload-client` drops the receipt's error and fails later
 * on the missing result (a TypeError reading `multihash`), and an unreadable receipt surfaces as a bare
 * decoding error, so the answers are the only place the reason is.
 */
export function receiptRecorder() {
  let newest: { url: string; response: Response } | undefined
  const recordingFetch: typeof globalThis.fetch = async (input, init) => {
    const response = await globalThis.fetch(input, init)
    const url = input instanceof Request ? input.url : String(input)
    // 404 is "not yet": the client polls again.
    if ((init?.method ?? 'GET').toUpperCase() === 'GET' && response.status !== 404) newest = { url, response: response.clone() }
    return response
  }
  return {
    fetch: recordingFetch,
    /**
     * What the newest answer says when it is a failed receipt or no receipt at all; undefined otherwise. The
     * newest is enough: the client fails right after a failed or unreadable receipt, and goes on after a good one.
     */
    async problem(): Promise<ReceiptProblem | undefined> {
      if (!newest) return undefined
      const { url, response } = newest
      newest = undefined
      if (!response.ok) return { kind: 'unreadable', url: shown(url), detail: `HTTP ${response.status} ${response.statusText}`.trim() }
      try {
        return failuresIn(new Uint8Array(await response.arrayBuffer())).at(-1)
      } catch (error) {
        return { kind: 'unreadable', url: shown(url), detail: `not a receipt (${(error as Error).message})` }
      }
    },
  }
}
