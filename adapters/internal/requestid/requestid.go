// Package requestid carries a request's id (X-Request-Id) in its context,
// from the HTTP adapter that reads or makes it to the adapters that call
// other services on the request's behalf, so one id names the request in
// the logs of every server it passes through.
package requestid

import "context"

// Header is the header the id travels in.
const Header = "X-Request-Id"

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the id ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
