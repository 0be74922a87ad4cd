// The browser entry (package.json "browser" condition): the same exports as index.ts. The browser build
// (tsup.config.ts) resolves database/open-storage.js to open-storage.browser.ts, so databases default to
// IndexedDB ("proj:<name>") and the bundle never imports node:fs.
export * from './index.js'
