package playground

import (
	"net/http"
	"time"
)

const (
	// heartbeat keeps the stream and the proxies between open.
	heartbeat = 15 * time.Second
	// writeWindow is how long one write may take; the server's own
	// write timeout would otherwise end every stream after 30s.
	writeWindow = 10 * time.Second
	// maxStreamAge ends a stream after an hour; EventSource reconnects.
	maxStreamAge = time.Hour
)

// Events serves the stream of one session's upstream calls:
// GET ...?session={32 hex digits}, as text/event-stream, an "upstream"
// event per call and a "ready" event once subscribed.
func (h *Hub) Events() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := r.URL.Query().Get("session")
		if !validSession(session) {
			http.Error(w, "session must be 32 lower-case hex digits", http.StatusBadRequest)
			return
		}
		ch, cancel, err := h.subscribe(session)
		if err != nil {
			w.Header().Set("Retry-After", "10")
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		defer cancel()
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		write := func(chunks ...[]byte) bool {
			_ = rc.SetWriteDeadline(time.Now().Add(writeWindow))
			for _, b := range chunks {
				if _, err := w.Write(b); err != nil {
					return false
				}
			}
			return rc.Flush() == nil
		}
		if !write([]byte("event: ready\ndata: {}\n\n")) {
			return
		}
		tick := time.NewTicker(heartbeat)
		defer tick.Stop()
		end := time.NewTimer(maxStreamAge)
		defer end.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-end.C:
				return
			case <-h.closed:
				return
			case <-tick.C:
				if !write([]byte(": heartbeat\n\n")) {
					return
				}
			case data := <-ch:
				if !write([]byte("event: upstream\ndata: "), data, []byte("\n\n")) {
					return
				}
			}
		}
	})
}
