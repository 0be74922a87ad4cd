/**
 * A file the backend answered it does not hold (`download` resolved `undefined`: HTTP 404, NoSuchKey, no such
 * file), while a meta entry there needs it: deleted on the server, or lost in a restore. The backend's own
 * answer, not a failure to reach it, so retrying the download cannot help: sync reports it once as permanent
 * (status 'error', `ready`/`flush()`/`refresh()` reject) instead of retrying it for good. A device that holds
 * the file uploads it again when it next connects (its once-a-session check of what the backend holds), and a
 * `refresh()` or a new connection then syncs.
 */
export class MissingFileError extends Error {
  override readonly name = 'MissingFileError'
  readonly permanent = true
  constructor(
    /** The file's CID. */
    readonly cid: string,
    /** The connector's name (e.g. 'http', 's3'). */
    readonly backend: string,
    /** The backend instance (the connector's `id`: its URL, bucket, folder…), when it names one. */
    readonly location: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `The ${backend} backend${location ? ` (${location})` : ''} does not hold the file ${cid}, which a meta entry ` +
        'there needs (deleted on the server, or lost in a restore): retrying cannot bring it back; a device that ' +
        'holds the file uploads it again when it next syncs with this backend',
      options,
    )
  }
}

/**
 * The file in `error`'s cause chain that a read could not find (a MissingBlockError naming it) and that the
 * backend said it lacks (`answeredAbsent`), if any. Classified by name, as errors.ts does, not by class.
 */
export function fileAnsweredAbsent(error: unknown, answeredAbsent: ReadonlySet<string>): string | undefined {
  const seen = new Set<unknown>()
  for (let at = error; at instanceof Error && !seen.has(at); at = at.cause) {
    seen.add(at)
    const cid = (at as { cid?: unknown }).cid
    if (at.name === 'MissingBlockError' && typeof cid === 'string' && answeredAbsent.has(cid)) return cid
  }
  return undefined
}
