// pouchdb ships no types; the bench uses a handful of calls (see systems.ts).
declare module 'pouchdb'
declare module 'pouchdb-adapter-memory'
