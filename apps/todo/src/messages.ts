/**
 * What the page tells the user besides the list itself: one error line, which lasts as long as its cause does,
 * and the notice of a change that found its todo deleted on another device.
 */

/**
 * What failed: a write of this page (an edit, a check, an image, a delete), a read of the list, the image of a
 * row (read whole later, replaced, or its row gone), or anything else (opening the list). An error goes when
 * its kind of action next succeeds: it said the first failure for good before, long after the problem was over.
 */
export type ErrorKind = 'write' | 'read' | 'image' | 'other'

export interface MessagesUi {
  error: HTMLElement
  deleted: { notice: HTMLElement; text: HTMLElement; restore: HTMLButtonElement; dismiss: HTMLButtonElement }
}

/** A todo a failed write concerns, named in the error when nothing else on the page shows it (e.g. "Not added"). */
export interface Lost {
  what: string
  title: string
}

export interface Messages {
  error(error: unknown, kind?: ErrorKind, lost?: Lost): void
  /** An action of `kind` went through: the error an earlier one showed is over. */
  ok(kind: ErrorKind): void
  /**
   * A change made here found its todo deleted on another device or tab: nothing was written (the change alone
   * would bring back a todo with one field), and the user is told so, with a way to restore it whole.
   */
  deletedElsewhere(title: string, restore: () => Promise<void>): void
}

export function messages(ui: MessagesUi): Messages {
  let shown: ErrorKind | undefined
  const self: Messages = {
    error(error, kind = 'other', lost) {
      shown = kind
      ui.error.hidden = false
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      if (!lost) ui.error.textContent = text
      else ui.error.replaceChildren(`${lost.what}: “`, isolated(lost.title), `” (${text})`)
    },
    ok(kind) {
      if (shown !== kind) return
      shown = undefined
      ui.error.hidden = true
      ui.error.textContent = ''
    },
    deletedElsewhere(title, restore) {
      const { notice, text, restore: button, dismiss } = ui.deleted
      text.replaceChildren('“', isolated(title), '” was deleted on another device or tab, so your change was not saved.')
      notice.hidden = false
      button.disabled = false
      button.onclick = () => {
        button.disabled = true
        restore().then(
          () => {
            notice.hidden = true
            self.ok('write')
          },
          (error) => {
            button.disabled = false
            self.error(error, 'write')
          },
        )
      }
      dismiss.onclick = () => (notice.hidden = true)
    },
  }
  return self
}

/** A title isolated (<bdi>): right-to-left or override characters in it cannot reorder the words around it. */
function isolated(title: string): HTMLElement {
  const name = document.createElement('bdi')
  name.textContent = title.trim() === '' ? '(no title)' : title
  return name
}
