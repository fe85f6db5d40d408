package main

import (
	"io"
	"net"
	"net/http"
)

// otlpSink is an OTLP/HTTP trace receiver that accepts every export and
// keeps nothing: the traced sigil pays for building, batching, encoding
// and sending its spans, as with a real collector, and the harness's cores
// are not spent storing them.
type otlpSink struct {
	URL string // http://127.0.0.1:port, for OTEL_EXPORTER_OTLP_ENDPOINT
	srv *http.Server
}

func startOTLPSink() (*otlpSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &otlpSink{URL: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		// An empty ExportTraceServiceResponse is zero bytes of protobuf.
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})
	s.srv = &http.Server{Handler: mux}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the receiver.
func (s *otlpSink) Close() { _ = s.srv.Close() }
