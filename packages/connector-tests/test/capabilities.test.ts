import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { createVitest } from 'vitest/node'

// What a backend lacks shows in the report as skipped, with the reason; it never counts as a pass.
const root = fileURLToPath(new URL('..', import.meta.url))

it('the suite reports the tests of a missing capability as skipped with the reason, none as passed', async () => {
  const vitest = await createVitest(
    'test',
    { config: false, root, include: ['test/fixtures/no-subscribe.suite.ts'], watch: false, reporters: [] },
    { resolve: { conditions: ['source'] }, ssr: { resolve: { conditions: ['source'] } } },
  )
  try {
    await vitest.start()
    const results = vitest.state
      .getFiles()
      .flatMap((file) => (file.tasks ?? []).flatMap((task) => [...collectTests(task)]))
      .filter((test) => test.path.endsWith(' > subscribe') || test.name.startsWith('has()'))
    const byState = (suite: string) =>
      results
        .filter((test) => test.path.includes(suite))
        .map((test) => ({ name: test.name, state: test.state, note: test.note }))

    const subscribeTests = (suite: string) => byState(suite).filter((t) => !t.name.startsWith('has()'))
    const hasTest = (suite: string) => byState(suite).find((t) => t.name.startsWith('has()'))

    // Declared up front: skipped without a fixture, the reason in the name.
    const declared = subscribeTests('connector conformance: declared')
    expect(declared.length).toBeGreaterThanOrEqual(2)
    for (const test of declared) {
      expect(test.state, test.name).toBe('skip')
      expect(test.name).toMatch(/ \[skipped: declared has no push subscribe \(sync polls it\)\]$/)
    }
    // Found out at run time: skipped with the reason as the note the reporter prints.
    expect(subscribeTests('connector conformance: found at run time').map((t) => [t.state, t.note])).toEqual(
      declared.map(() => ['skip', 'found at run time has no push subscribe (sync polls it)']),
    )
    expect(hasTest('connector conformance: declared')).toMatchObject({ state: 'skip', note: 'declared has no has()' })
    expect(hasTest('connector conformance: found at run time')).toMatchObject({ state: 'skip', note: 'found at run time has no has()' })
  } finally {
    await vitest.close()
  }
}, 120_000)

interface TaskLike {
  type: string
  name: string
  tasks?: TaskLike[]
  mode?: string
  result?: { state?: string; note?: string }
}

function* collectTests(task: TaskLike, path: string[] = []): Generator<{ path: string; name: string; state: string; note?: string }> {
  if (task.type === 'test') {
    yield { path: path.join(' > '), name: task.name, state: task.result?.state ?? task.mode ?? 'none', note: task.result?.note }
    return
  }
  for (const child of task.tasks ?? []) yield* collectTests(child, [...path, task.name])
}
