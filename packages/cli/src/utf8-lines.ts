import { Transform, type Readable } from 'node:stream'
import { createInterface } from 'node:readline'
import { CliError } from './usage.js'

/**
 * The lines of `input`, which must be UTF-8: Node's own decoding puts U+FFFD in place of bytes that are not,
 * so a Latin-1 export loaded "café" as "caf\uFFFD", silently. A BOM at the start is dropped; \r\n ends a line.
 */
export function utf8Lines(input: Readable): AsyncIterable<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let offset = 0
  const text = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        const decoded = decoder.decode(chunk, { stream: true })
        offset += chunk.length
        done(null, decoded)
      } catch {
        done(new CliError(`The input is not UTF-8 text (bytes ${offset}-${offset + chunk.length} hold one that is not): convert it first, e.g. iconv -f latin1 -t utf-8`))
      }
    },
    flush(done) {
      try {
        done(null, decoder.decode())
      } catch {
        done(new CliError('The input ends inside a UTF-8 character: it was cut off'))
      }
    },
  })
  input.on('error', (error) => text.destroy(error))
  return createInterface({ input: input.pipe(text), crlfDelay: Infinity })
}
