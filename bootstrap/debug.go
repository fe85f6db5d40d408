package bootstrap

import (
	"net/http"
	"net/http/pprof"

	"go.uber.org/fx"
)

// debugModule serves Go's profiler on debug-addr, for measuring a running
// node; off unless that setting is given. Bind it to loopback: profiles
// reveal internals. It stays plain HTTP: it is meant for loopback, and
// `go tool pprof` reads it without a certificate to trust.
func debugModule(c Config) fx.Option {
	if c.DebugAddr == "" {
		return fx.Options()
	}
	return fx.Provide(debugListener)
}

// debugListener serves the profiler's routes.
func debugListener(c Config) listenerOut {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	return listenerOut{Listener: listener{role: "debug", addr: c.DebugAddr, handler: mux}}
}
