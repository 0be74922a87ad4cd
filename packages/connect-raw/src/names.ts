// Database and branch names become path segments (on disk and in URLs), so they are restricted to characters
// that need no escaping and can never mean "parent directory". Branch names have no dots, so a branch's
// listing `<branch>.json` can never collide with another branch's entry folder.
const DB_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/
const BRANCH_NAME = /^[A-Za-z0-9_-]{1,128}$/

export function checkDbName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !DB_NAME.test(name)) {
    throw new TypeError(`Invalid database name: ${JSON.stringify(name)} (letters, digits, . _ -; not starting with .)`)
  }
}

export function checkBranch(branch: unknown): asserts branch is string {
  if (typeof branch !== 'string' || !BRANCH_NAME.test(branch)) {
    throw new TypeError(`Invalid branch name: ${JSON.stringify(branch)} (letters, digits, _ -)`)
  }
}
