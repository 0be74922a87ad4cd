/** A way out of a problem: a link to follow, or something to do (with a confirmation when it deletes data). */
export type ProblemAction = { label: string; href: string } | { label: string; run: () => Promise<void> }

/** A paragraph, or a list of items (e.g. the titles of todos that would otherwise be out of reach). */
export type ProblemDetail = string | { items: string[] }

export interface ProblemUi {
  section: HTMLElement
  title: HTMLElement
  detail: HTMLElement
  actions: HTMLElement
  /** The list and its share link: hidden while a problem stops the list from opening. */
  app: HTMLElement
}

/**
 * Replaces the list with what went wrong, in words, and the ways out. Used when the list cannot be shown
 * at all (a broken link, a wrong key); problems that leave the list usable are notices instead.
 */
export function showProblem(ui: ProblemUi, title: string, detail: ProblemDetail[], actions: ProblemAction[]): void {
  ui.app.hidden = true
  ui.section.hidden = false
  ui.title.textContent = title
  ui.detail.replaceChildren(
    ...detail.map((part) => {
      if (typeof part === 'string') {
        const p = document.createElement('p')
        p.textContent = part
        return p
      }
      const ul = document.createElement('ul')
      ul.append(
        ...part.items.map((text) => {
          const li = document.createElement('li')
          li.textContent = text
          return li
        }),
      )
      return ul
    }),
  )
  ui.actions.replaceChildren(
    ...actions.map((action, index) => {
      if ('href' in action) {
        const a = document.createElement('a')
        a.href = action.href
        a.textContent = action.label
        a.className = index === 0 ? 'button' : 'button secondary'
        return a
      }
      const button = document.createElement('button')
      button.type = 'button'
      button.textContent = action.label
      button.className = index === 0 ? '' : 'secondary'
      button.addEventListener('click', () => {
        button.disabled = true
        action.run().finally(() => (button.disabled = false))
      })
      return button
    }),
  )
}
