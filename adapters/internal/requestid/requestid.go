// Package requestid carries a request's id in its context, from the HTTP
// server that took or made it up (echohttp) to the clients that call on
// the request's behalf (introspection), which pass it on in X-Request-Id
// so that one id finds the lines of both servers.
package requestid

import "context"

type key struct{}

// Header is the header the id travels in.
const Header = "X-Request-Id"

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From is the id ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
