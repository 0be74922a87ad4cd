/**
 * `save()` or `submit()` of a `useDocument` whose document is deleted (on another device, or by another write;
 * before the hook first read it or after): writing the edits on their own would bring the document back with
 * only the edited fields and the initial ones, everything else gone. Nothing was written; the edits are kept. To
 * bring the document back, `replace()` it with the whole document and save again.
 */
export class DocumentDeletedError extends Error {
  override readonly name = 'DocumentDeletedError'
  constructor(readonly id: string) {
    super(
      `useDocument(): document ${JSON.stringify(id)} is deleted (on another device, or by another write), so the edits were not saved; to bring it back, replace() it with the whole document and save again`,
    )
  }
}
