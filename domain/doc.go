// Package domain holds Sigil's entities and the rules that belong to them:
// clients, access tokens, signing keys, countries, scopes and the OAuth
// errors they produce. It depends on the standard library alone.
package domain
