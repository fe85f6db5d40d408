package gate

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// NetworkFailure reports whether err says the connection to a dependency
// failed rather than that the dependency refused what was asked: a
// refused, reset, aborted or broken connection, an unreachable host, an
// end of stream, a closed connection, or a deadline (the caller's, ours,
// or the socket's). Each store adapter adds what its own protocol says
// beyond this.
func NetworkFailure(err error) bool {
	var nerr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH),
		errors.As(err, &nerr):
		return true
	}
	return false
}
