import qrcode from 'qrcode-generator'

export interface ShareUi {
  link: HTMLTextAreaElement
  copy: HTMLButtonElement
  copyHint: HTMLElement
  qr: HTMLElement
}

/** Shows the share link in full (it wraps: a phone shows all of it), as a QR code, and wires the Copy button. */
export function showShare(ui: ShareUi, link: string): void {
  ui.link.value = link
  ui.link.addEventListener('focus', () => ui.link.select())
  ui.qr.innerHTML = qrSvg(link)
  ui.qr.setAttribute('aria-label', 'QR code of the share link: scan it with a phone to open this list there')
  let reset: ReturnType<typeof setTimeout> | undefined
  ui.copy.addEventListener('click', async () => {
    const copied = await copyText(link, ui.link)
    clearTimeout(reset)
    ui.copy.textContent = copied ? 'Copied' : 'Copy link'
    ui.copyHint.hidden = copied
    // The browser refused both ways (no clipboard access): the link is selected, so the user can copy it.
    if (!copied) ui.copyHint.textContent = 'This browser did not let the page copy: the link is selected, copy it with Ctrl+C (or long-press, Copy).'
    if (copied) reset = setTimeout(() => (ui.copy.textContent = 'Copy link'), 2000)
  })
}

/**
 * The async Clipboard API exists only in secure contexts (https, localhost): the demo opened on a phone by
 * the computer's LAN address (http://192.168.…) has none, so the selected text is copied the old way there.
 */
async function copyText(text: string, field: HTMLTextAreaElement): Promise<boolean> {
  if (window.isSecureContext && navigator.clipboard) {
    try {
      await navigator.clipboard.writeText(text)
      return true
    } catch {
      // permission refused or the page not focused: fall back
    }
  }
  field.focus()
  field.setSelectionRange(0, field.value.length)
  try {
    return document.execCommand('copy')
  } catch {
    return false
  }
}

/** The link as an SVG QR code (error correction M); scales to its box. */
function qrSvg(text: string): string {
  const qr = qrcode(0, 'M')
  qr.addData(text, 'Byte')
  qr.make()
  return qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true })
}
