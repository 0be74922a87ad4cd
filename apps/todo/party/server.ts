// The party behind the todo page: the stock @proj/connect-partykit server. It keeps each database's encrypted
// files and meta entries in its own room and never sees a key.
export { default } from '@proj/connect-partykit/server'
