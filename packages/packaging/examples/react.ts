// @proj/react: the hooks import next to the user's React and type-check in a component.
import { createElement, type ReactNode } from 'react'
import { DatabaseProvider, useDatabase, useDocument, useLiveQuery } from '@proj/react'

type Todo = { title: string; done: boolean }

export function Todos(): ReactNode {
  const db = useDatabase('todos')
  const { docs } = useLiveQuery<Todo>('done', { key: false, includeDocs: true })
  const items = docs.map((todo) => createElement('li', { key: todo._id }, todo.title))
  return createElement(DatabaseProvider, { db }, createElement('ul', null, items))
}

for (const fn of [useDatabase, useDocument, useLiveQuery, Todos]) {
  if (typeof fn !== 'function') throw new Error('@proj/react export missing')
}
console.log('ok @proj/react')
