import { createWriteStream, existsSync, openSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { finished } from 'node:stream/promises'
import { CliError } from './usage.js'

export interface OutputFile {
  stream: WriteStream
  /** Closes the stream and puts the file in place of `path`. */
  commit(): Promise<void>
  /** Closes the stream and removes what was written: `path` stays as it was. */
  abort(): Promise<void>
}

/**
 * A file written next to `path` and renamed over it once complete, so a command that fails (a wrong key, a
 * locked database, a full disk) leaves an earlier file there, an earlier backup say, as it was instead of
 * emptied. A path that is not a regular file (a FIFO, /dev/stdout) is written in place.
 */
export function outputFile(path: string): OutputFile {
  const inPlace = existsSync(path) && !statSync(path).isFile()
  const written = inPlace ? path : join(dirname(path), `.${basename(path)}.${process.pid}.partial`)
  let fd: number
  try {
    fd = openSync(written, 'w')
  } catch (error) {
    throw new CliError(`Cannot write ${JSON.stringify(path)}: ${(error as Error).message}`)
  }
  const stream = createWriteStream('', { fd })
  const close = async () => {
    stream.end()
    await finished(stream)
  }
  return {
    stream,
    async commit() {
      await close()
      if (!inPlace) renameSync(written, path)
    },
    async abort() {
      await close().catch(() => undefined)
      if (!inPlace) rmSync(written, { force: true })
    },
  }
}
