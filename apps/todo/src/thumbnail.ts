import { isPermanentError, type Attachment } from '@proj/core'
import { imageUrl, releaseImageUrl } from './image-url.js'

/** Per row: the image attachment wanted (by cid), the object URL on screen (revoked once replaced), retries. */
interface ImageState {
  cid?: string
  url?: string
  /** Transient failures of reading `cid` so far, for the backoff. */
  attempts: number
  retry?: ReturnType<typeof setTimeout>
}

/** Backoff of a failed image read: doubling from the first delay up to the last. */
const IMAGE_RETRY_FIRST_MS = 1000
const IMAGE_RETRY_MAX_MS = 30_000

/**
 * The thumbnails of the list's rows: each row's `.thumb` shows its todo's image attachment. `show` after every
 * render of the row, `release` when the row goes, `retry` when sync is back (images waiting after a transient
 * failure are read again at once instead of after their backoff). A failure retrying cannot fix goes to
 * `onError` with its row; `onOver` gets the row once that is over (its image read, replaced, or the row gone).
 */
export function thumbnailer(onError: (error: unknown, li: HTMLLIElement) => void, onOver: (li: HTMLLIElement) => void) {
  const images = new WeakMap<HTMLLIElement, ImageState>()
  /** Rows whose image read failed for a transient reason, each with its retry now. */
  const waiting = new Map<HTMLLIElement, () => void>()

  /**
   * Shows the image attachment in the row's thumbnail, read with `file()` (downloaded only now, on the devices
   * that show it) into an object URL; the URL shown before is revoked once the new one is on screen.
   */
  function show(li: HTMLLIElement, image: Attachment | undefined): void {
    const state = images.get(li) ?? { attempts: 0 }
    images.set(li, state)
    if (state.cid === image?.cid) return
    state.cid = image?.cid
    clearTimeout(state.retry)
    state.attempts = 0
    if (!image) {
      release(li)
      return
    }
    readImage(li, state, image)
  }

  function readImage(li: HTMLLIElement, state: ImageState, image: Attachment): void {
    const thumb = li.querySelector<HTMLImageElement>('.thumb')!
    state.retry = undefined
    waiting.delete(li)
    void image.file().then(
      async (file) => {
        if (state.cid !== image.cid) return // replaced while it was read
        const url = await imageUrl(file)
        if (state.cid !== image.cid) return releaseImageUrl(url)
        const old = state.url
        state.url = url
        thumb.src = url
        thumb.hidden = false
        thumb.removeAttribute('title')
        if (old) releaseImageUrl(old)
        onOver(li)
      },
      (error: unknown) => {
        if (state.cid !== image.cid) return
        if (isPermanentError(error)) {
          state.cid = undefined // the next render tries again
          onError(error, li)
          return
        }
        // Offline, or the server busy: the image comes once it can be downloaded. Said in the row (an empty
        // thumbnail, its reason on hover), not as an error, and tried again after a backoff or at once when
        // sync is back (retryImages).
        thumb.hidden = false
        thumb.title = `Image not downloaded yet (${error instanceof Error ? error.message : String(error)}): retrying`
        const delay = Math.min(IMAGE_RETRY_MAX_MS, IMAGE_RETRY_FIRST_MS * 2 ** state.attempts++)
        state.retry = setTimeout(() => readImage(li, state, image), delay)
        waiting.set(li, () => {
          clearTimeout(state.retry)
          readImage(li, state, image)
        })
      },
    )
  }

  function release(li: HTMLLIElement): void {
    const state = images.get(li)
    if (state?.url) releaseImageUrl(state.url)
    clearTimeout(state?.retry)
    waiting.delete(li)
    images.delete(li)
    const thumb = li.querySelector<HTMLImageElement>('.thumb')!
    thumb.hidden = true
    thumb.removeAttribute('src')
    thumb.removeAttribute('title')
    onOver(li)
  }

  const retry = () => {
    for (const again of [...waiting.values()]) again()
  }
  return { show, release, retry }
}
