/**
 * The URL a thumbnail shows an image from. Whoever has the share link chooses an attachment's bytes and type,
 * and an object URL belongs to this page's origin: an SVG (or a page typed as an image) opened on its own ("Open
 * image in new tab") would run its script as this page, with this device's lists and their keys in reach.
 * So only raster types, which cannot run script whatever they hold, get an object URL of their own type; an SVG
 * is shown from a data: URL (no script runs in an <img>, and opened on its own it has an origin of its own);
 * anything else is an object URL typed as bytes, which a browser downloads rather than shows as a page.
 */
const RASTER = new Set(['image/png', 'image/apng', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp', 'image/x-icon', 'image/vnd.microsoft.icon'])

export async function imageUrl(file: Blob): Promise<string> {
  if (RASTER.has(file.type)) return URL.createObjectURL(file)
  if (file.type === 'image/svg+xml') return dataUrl(file)
  return URL.createObjectURL(new Blob([file], { type: 'application/octet-stream' }))
}

/** Releases a URL made by imageUrl (a data: URL holds nothing to release). */
export function releaseImageUrl(url: string): void {
  if (url.startsWith('blob:')) URL.revokeObjectURL(url)
}

function dataUrl(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(reader.result as string)
    reader.onerror = () => reject(reader.error ?? new Error('the image could not be read'))
    reader.readAsDataURL(file)
  })
}
