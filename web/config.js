// Where the API lives. Empty means "same origin" (the local runner serves
// both). A production deploy overwrites this file with the HTTP API's URL.
export const API_BASE = "";
