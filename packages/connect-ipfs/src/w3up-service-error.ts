/**
 * A step of an upload that the w3up service runs itself failed, as its receipt says (e.g. its
 * `web3.storage/blob/accept`: the service stored the bytes but could not accept them, such as when its own
 * delegation to publish location claims has expired), or the receipt could not be read (the receipts endpoint
 * answered an error or bytes that are no receipt). The agent's credentials and configuration are not at fault,
 * so it is transient: sync retries the upload, which runs the step again once the service recovers.
 */
export class W3upServiceError extends Error {
  override readonly name = 'W3upServiceError'
  /** Set, not inherited: the service's own failure names (e.g. `Unauthorized`) must not classify this upload. */
  readonly permanent = false
  constructor(
    /** The file whose upload failed. */
    readonly cid: string,
    /** What went wrong on the service's side. */
    detail: string,
    /** The service's step when its receipt names it, e.g. `web3.storage/blob/accept`. */
    readonly ability?: string,
  ) {
    super(`w3up did not complete the upload of ${cid}: ${detail}`)
  }
}
