// Package josekit adapts go-jose to Sigil's ports: it generates signing
// keys, signs RFC 9068 JWT access tokens, publishes the JSON Web Key Set
// (RFC 7517), verifies access tokens, and fetches a remote authorization
// server's key set for a resource server. No go-jose type leaves it.
package josekit
