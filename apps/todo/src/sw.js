// Keeps the page's own files (not the sync traffic) so that the page opens offline: network first, so a new
// build shows at once when the server is up, the cached copy when it is not.
const CACHE = 'proj-todo-v1'
const SHELL = ['/', '/app.js', '/style.css', '/icon.svg']

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim())
})

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url)
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/parties/')) return
  const key = url.pathname === '/' || url.pathname === '/index.html' ? '/' : url.pathname
  if (!SHELL.includes(key)) return
  event.respondWith(
    fetch(event.request)
      .then(async (response) => {
        if (response.ok) await (await caches.open(CACHE)).put(key, response.clone())
        return response
      })
      .catch(async () => (await caches.match(key)) ?? Response.error()),
  )
})
