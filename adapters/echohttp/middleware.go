package echohttp

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"
)

// logRequests writes one access line per request: method, path,
// status, duration in seconds, the caller's address (as the trusted
// proxies tell it, see ipExtractor) and user agent, the request id, the
// client id the request named, and for an error answer its OAuth code and
// why it was refused, in words (domain.Error.Reason). It never logs
// headers, bodies, the query string or error descriptions beyond that:
// they carry client secrets, assertions and tokens.
//
// The role is not among them: bootstrap gives each server a logger that
// names it.
//
// It is also where errors become responses: it hands the error to the
// error handler itself so that the status it logs is the one sent.
func (s *server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		id := requestID(req.Header.Get(echo.HeaderXRequestID))
		c.Response().Header().Set(echo.HeaderXRequestID, id)

		var refused response
		if err := next(c); err != nil {
			refused = s.writeError(err, c)
			if s.metrics != nil {
				s.metrics.refused(s.role, refused)
			}
		}

		level := slog.LevelInfo
		if p := c.Path(); p == healthPath || p == readyPath {
			level = slog.LevelDebug // probes every few seconds would drown the rest
		}
		if !s.log.Enabled(req.Context(), level) {
			return nil
		}
		attrs := make([]slog.Attr, 0, 13)
		attrs = append(attrs,
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.Int("status", c.Response().Status),
			slog.Float64("duration_s", time.Since(start).Seconds()),
			slog.String("remote_addr", c.RealIP()),
			slog.String("user_agent", bounded(req.UserAgent(), maxUserAgentLen)),
			slog.String("request_id", id),
		)
		if client, _ := c.Get(clientIDKey).(string); client != "" {
			attrs = append(attrs, slog.String("client_id", bounded(client, maxClientIDLen)))
		}
		if refused.code != "" {
			attrs = append(attrs, slog.String("error", refused.code))
		}
		if refused.reason != "" {
			attrs = append(attrs, slog.String("reason", refused.reason))
		}
		if s.traced {
			if id := traceID(c); id != "" {
				attrs = append(attrs, slog.String("trace_id", id))
			}
		}
		s.log.LogAttrs(req.Context(), level, "request", attrs...)
		return nil
	}
}

// clientIDKey is where a handler leaves, in the echo context, the client
// id the request named, for the access line.
const clientIDKey = "sigil.client_id"

// noteClient records the client id a request named (or was issued a token
// for), for the access line. It is what the caller sent, so for a refused
// request it names who the caller claimed to be, not who it is.
func noteClient(c echo.Context, id string) {
	if id != "" {
		c.Set(clientIDKey, id)
	}
}

// Bounds of caller-chosen text in the access line.
const (
	maxUserAgentLen = 256
	maxClientIDLen  = 128
)

// bounded cuts s to at most n bytes.
func bounded(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// maxRequestIDLen bounds a request id taken from the caller.
const maxRequestIDLen = 64

// requestID keeps the caller's X-Request-Id (a proxy's, to correlate logs)
// if it is short and plain, and otherwise makes one up. Ids only correlate
// log lines, so they need not be unguessable.
func requestID(incoming string) string {
	if incoming != "" && len(incoming) <= maxRequestIDLen && plainID(incoming) {
		return incoming
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

func plainID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// panicError is a recovered panic; the error handler answers it with 500
// and logs it with its stack.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// recoverPanics turns a panic in a handler into an error, so that one bad
// request gets a 500 and the server goes on serving. Unlike Echo's Recover
// it neither logs nor answers itself: handleError does both, once.
func recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v) // net/http's way to abort a response on purpose
				}
				err = &panicError{value: v, stack: debug.Stack()}
			}
		}()
		return next(c)
	}
}

// limitBody bounds the request body: a declared length over the limit is
// refused before anything is read, and a body that turns out longer fails
// the read with *http.MaxBytesError. Both become 413 in handleError.
func limitBody(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return &http.MaxBytesError{Limit: limit}
			}
			if req.Body != nil && req.Body != http.NoBody {
				req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, limit)
			}
			return next(c)
		}
	}
}
