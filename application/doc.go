// Package application holds Sigil's use cases and the ports they consume.
// Each use case is a struct with a Handle method, built from plain
// parameters, so it runs without HTTP, a database or fx.
package application
