import { CarBufferReader } from '@ipld/car/buffer-reader'
import * as dagCbor from '@ipld/dag-cbor'

/** What a failed receipt says: the task's ability and the error's name and message. */
export interface ReceiptFailure {
  ability: string
  name: string
  message: string
}

interface ReceiptBlock {
  ocm?: { ran?: unknown; out?: { error?: { name?: unknown; message?: unknown } } }
}

interface TaskBlock {
  att?: { can?: unknown }[]
}

/** The failed receipts in one ucanto agent message (a CAR): each with the ability of the task it ran. */
function failuresIn(bytes: Uint8Array): ReceiptFailure[] {
  const blocks = new Map<string, unknown>()
  for (const block of CarBufferReader.fromBytes(bytes).blocks()) {
    if (block.cid.code === dagCbor.code) blocks.set(block.cid.toString(), dagCbor.decode(block.bytes))
  }
  const failures: ReceiptFailure[] = []
  for (const value of blocks.values()) {
    const error = (value as ReceiptBlock)?.ocm?.out?.error
    if (!error || typeof error !== 'object') continue
    const task = blocks.get(String((value as ReceiptBlock).ocm?.ran)) as TaskBlock | undefined
    const ability = task?.att?.[0]?.can
    failures.push({
      ability: typeof ability === 'string' ? ability : 'task',
      name: typeof error.name === 'string' ? error.name : 'Error',
      message: typeof error.message === 'string' ? error.message : '',
    })
  }
  return failures
}

/**
 * A fetch for the w3up client to use during one upload that keeps the receipts it polls (answers to GET): when
 * the service's own step failed, `@web3-storage/upload-client` drops the receipt's error and fails later on
 * the missing result (a TypeError reading `multihash`), so the receipt is the only place the reason is.
 */
export function receiptRecorder() {
  const answers: Response[] = []
  const recordingFetch: typeof globalThis.fetch = async (input, init) => {
    const response = await globalThis.fetch(input, init)
    if ((init?.method ?? 'GET').toUpperCase() === 'GET' && response.ok) answers.push(response.clone())
    return response
  }
  return {
    fetch: recordingFetch,
    /** The newest failed receipt among the answers, or undefined (none failed, or none is a readable CAR). */
    async lastFailure(): Promise<ReceiptFailure | undefined> {
      for (const answer of answers.splice(0).reverse()) {
        try {
          const failure = failuresIn(new Uint8Array(await answer.arrayBuffer())).at(-1)
          if (failure) return failure
        } catch {
          // not an agent message: no reason to read from it
        }
      }
      return undefined
    },
  }
}
