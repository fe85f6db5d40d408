// Package josekit adapts go-jose to Sigil's ports: it generates signing
// keys (RSA, EC P-256/384/521, Ed25519), signs RFC 9068 JWT access tokens
// and RFC 9701 introspection responses, writes the JWK Set document it
// publishes (KeySetEncoder; RFC 7517, RFC 8037), verifies access tokens,
// fetches and caches a key set someone else publishes (RemoteKeySet: the
// authorization server's for a resource server, a client's jwks_uri), and
// checks the signatures of JWT client assertions (RFC 7523). No go-jose
// type leaves it.
package josekit
