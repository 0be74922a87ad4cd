/**
 * The signing protocol between `s3PresignedConnector` (browser) and `createSigningHandler` (your server):
 * one JSON POST per operation; the answer holds presigned S3 URLs the client then uses directly.
 */

/**
 * The most entries one `save` request may name in `replaces` (as one S3 DeleteObjects may): a save replacing
 * more is signed in several requests, the entry's PUT in the first.
 */
export const MAX_REPLACES_PER_SIGN = 1000

export type SignRequest =
  /** Presigned PUT of `<db>/data/<cid>`. */
  | { op: 'upload'; db: string; cid: string }
  /** Presigned GET of `<db>/data/<cid>`. */
  | { op: 'download'; db: string; cid: string }
  /** Presigned PUT of the new entry and presigned DELETEs of the entries it replaces. */
  | { op: 'save'; db: string; branch: string; cid: string; replaces: string[] }
  /** The branch listed by the server, with a presigned GET per entry. */
  | { op: 'load'; db: string; branch: string }

export interface SignedRequest {
  url: string
  /** Headers the request must carry exactly as given (they are part of the signature). */
  headers?: Record<string, string>
}

export interface SignedUpload extends SignedRequest {}
export interface SignedDownload extends SignedRequest {}
export interface SignedSave {
  put: SignedRequest
  delete: Array<SignedRequest & { cid: string }>
}
export interface SignedLoad {
  entries: Array<SignedRequest & { cid: string }>
}

export interface SignResponse {
  upload: SignedUpload
  download: SignedDownload
  save: SignedSave
  load: SignedLoad
}

const isSigned = (value: unknown): value is SignedRequest => {
  if (!value || typeof value !== 'object') return false
  const { url, headers } = value as { url?: unknown; headers?: unknown }
  if (typeof url !== 'string') return false
  if (headers === undefined) return true
  return !!headers && typeof headers === 'object' && Object.values(headers).every((v) => typeof v === 'string')
}
const isSignedEntries = (value: unknown): boolean =>
  Array.isArray(value) && value.every((item) => isSigned(item) && typeof (item as { cid?: unknown }).cid === 'string')

/**
 * Whether a signer's parsed answer has the shape of the answer to `op`; what is missing, otherwise. Something
 * else (a site's page, a proxy's own JSON) would fail later as a TypeError, which sync takes for a transient
 * failure and retries for good.
 */
export function signResponseProblem(op: SignRequest['op'], body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'not a JSON object'
  const b = body as Record<string, unknown>
  switch (op) {
    case 'upload':
    case 'download':
      return isSigned(b) ? undefined : 'no "url" string in it'
    case 'save':
      return isSigned(b.put) && isSignedEntries(b.delete) ? undefined : 'no "put" request and "delete" array in it'
    case 'load':
      return isSignedEntries(b.entries) ? undefined : 'no "entries" array of signed requests in it'
  }
}
