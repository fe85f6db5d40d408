// Package playground is the playground page (static files embedded, no
// build step) and the stream of the resource role's own calls (JWKS,
// introspection) it shows: Server-Sent Events, each subscriber seeing only
// the calls made for requests of its own session.
package playground

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigilauth/sigil/adapters/internal/requestid"
	"github.com/sigilauth/sigil/application"
)

// Bounds of the hub: everything a browser can make it hold.
const (
	// maxSubscribers bounds the open streams of the whole process, and
	// maxPerSession those of one session (a page and a reload or two).
	maxSubscribers = 64
	maxPerSession  = 4
	// bufferEvents is how many events wait for a slow stream before
	// more are dropped.
	bufferEvents = 32
	// maxBodyBytes bounds each body an event carries; a JWKS of a few
	// keys and an introspection answer are far smaller.
	maxBodyBytes = 16 << 10
)

// sessionLen is the length of a session id: 32 hex digits, 128 random
// bits the page draws, so no one can guess another page's.
const sessionLen = 32

// requestPrefix starts the request ids (X-Request-Id) of the playground's
// requests: "pg-{session}-{n}". Other callers' ids never match a session
// unless they chose to.
const requestPrefix = "pg-"

// Hub passes the resource role's upstream calls to the streams of the
// sessions whose requests they were made for. Without subscribers,
// Watched costs one atomic load and Report is never called.
type Hub struct {
	count atomic.Int32
	mu    sync.RWMutex
	subs  map[string][]chan []byte // by session id
	// closed ends every stream and refuses new ones (Close).
	closed    chan struct{}
	closeOnce sync.Once
}

var _ application.UpstreamReporter = (*Hub)(nil)

// NewHub returns a hub without subscribers.
func NewHub() *Hub { return &Hub{subs: map[string][]chan []byte{}, closed: make(chan struct{})} }

// Close ends every stream, for a server that drains: a stream never ends
// by itself. Later subscriptions are refused.
func (h *Hub) Close() { h.closeOnce.Do(func() { close(h.closed) }) }

// errTooMany refuses a stream over the bounds.
var errTooMany = errors.New("too many playground streams")

// subscribe opens a stream for session; cancel closes it.
func (h *Hub) subscribe(session string) (<-chan []byte, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.closed:
		return nil, nil, errTooMany
	default:
	}
	if h.count.Load() >= maxSubscribers || len(h.subs[session]) >= maxPerSession {
		return nil, nil, errTooMany
	}
	ch := make(chan []byte, bufferEvents)
	h.subs[session] = append(h.subs[session], ch)
	h.count.Add(1)
	cancel := func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		list := h.subs[session]
		for i, c := range list {
			if c == ch {
				list = append(list[:i], list[i+1:]...)
				h.count.Add(-1)
				break
			}
		}
		if len(list) == 0 {
			delete(h.subs, session)
		} else {
			h.subs[session] = list
		}
	}
	return ch, cancel, nil
}

// sessionOf is the session a playground request id names.
func sessionOf(id string) (string, bool) {
	if len(id) < len(requestPrefix)+sessionLen+1 || id[:len(requestPrefix)] != requestPrefix {
		return "", false
	}
	s := id[len(requestPrefix) : len(requestPrefix)+sessionLen]
	if id[len(requestPrefix)+sessionLen] != '-' || !validSession(s) {
		return "", false
	}
	return s, true
}

// validSession reports whether s is 32 lower-case hex digits.
func validSession(s string) bool {
	if len(s) != sessionLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}

// Watched implements application.UpstreamReporter: a stream is open for
// the session of ctx's request.
func (h *Hub) Watched(ctx context.Context) bool {
	if h.count.Load() == 0 {
		return false
	}
	s, ok := sessionOf(requestid.From(ctx))
	if !ok {
		return false
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs[s]) > 0
}

// event is an UpstreamCall as the page reads it.
type event struct {
	RequestID      string            `json:"request_id"`
	Kind           string            `json:"kind"`
	Cached         bool              `json:"cached"`
	KeyID          string            `json:"kid,omitempty"`
	Method         string            `json:"method"`
	URL            string            `json:"url"`
	RequestHeaders map[string]string `json:"request_headers,omitempty"`
	RequestBody    string            `json:"request_body,omitempty"`
	Status         int               `json:"status,omitempty"`
	ResponseBody   string            `json:"response_body,omitempty"`
	Error          string            `json:"error,omitempty"`
	Started        time.Time         `json:"started"`
	DurationMS     float64           `json:"duration_ms"`
}

func toEvent(id string, c application.UpstreamCall) event {
	return event{
		RequestID: id, Kind: c.Kind, Cached: c.Cached, KeyID: c.KeyID,
		Method: c.Method, URL: c.URL, RequestHeaders: c.RequestHeaders,
		RequestBody: cut(c.RequestBody), Status: c.Status, ResponseBody: cut(c.ResponseBody), Error: c.Error,
		Started: c.Started.UTC(), DurationMS: float64(c.Duration.Microseconds()) / 1000,
	}
}

func cut(s string) string {
	if len(s) > maxBodyBytes {
		return s[:maxBodyBytes] + "…"
	}
	return s
}

// Report implements application.UpstreamReporter: the call goes to every
// stream of the request's session that has room; a full one misses it.
func (h *Hub) Report(ctx context.Context, c application.UpstreamCall) {
	id := requestid.From(ctx)
	s, ok := sessionOf(id)
	if !ok {
		return
	}
	data, err := json.Marshal(toEvent(id, c))
	if err != nil {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, ch := range h.subs[s] {
		select {
		case ch <- data:
		default:
		}
	}
}
