// Package certfile serves a TLS certificate and key from files, reloaded
// when the files change, so that a renewed certificate (certbot, a
// Kubernetes secret, cert-manager) is picked up without a restart.
package certfile

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckEvery is how often, at most, the files are looked at: one
// stat of each file per this period, made by the handshake that comes
// after it, so an idle server does no work and a busy one almost none.
const DefaultCheckEvery = 2 * time.Second

// Reloader holds the certificate and key loaded from two files. Its
// GetCertificate is a tls.Config.GetCertificate: after CheckEvery, a
// handshake stats the files, and loads them again when their size or
// modification time changed. A pair that does not load (a half-written
// file, a key that does not match) leaves the last good pair in service
// and is logged once, as a warning.
type Reloader struct {
	certFile, keyFile string
	checkEvery        time.Duration
	log               *slog.Logger
	now               func() time.Time

	cert      atomic.Pointer[tls.Certificate]
	nextCheck atomic.Int64 // unix nanoseconds

	mu     sync.Mutex // held by the one handshake that checks the files
	loaded stamp      // the files as they were when cert was loaded
	failed stamp      // the files as they were when a load last failed
	warned bool       // whether that failure was logged
}

// stamp is what a stat tells of the two files: a change of either is a
// reason to load them again.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// Options tune a Reloader; the zero value is fine.
type Options struct {
	// CheckEvery is the least time between two looks at the files;
	// DefaultCheckEvery when zero.
	CheckEvery time.Duration
	// Logger receives the reload and the warning of a failed one;
	// slog.Default when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// New loads the certificate chain in certFile and its private key in
// keyFile (both PEM), failing if either cannot be read or they do not
// form a pair: a server must not start without a certificate it can
// serve.
func New(certFile, keyFile string, opts Options) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, checkEvery: opts.CheckEvery, log: opts.Logger, now: opts.Now}
	if r.checkEvery <= 0 {
		r.checkEvery = DefaultCheckEvery
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	st, err := r.stat()
	if err == nil {
		err = r.load(st)
	}
	if err != nil {
		return nil, err
	}
	r.nextCheck.Store(r.now().Add(r.checkEvery).UnixNano())
	return r, nil
}

// GetCertificate returns the pair in service, having first looked at the
// files if CheckEvery has passed since the last look.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if r.now().UnixNano() >= r.nextCheck.Load() {
		r.check()
	}
	return r.cert.Load(), nil
}

// check loads the files again if they changed since the pair in service
// was loaded. Only one handshake checks; the others meanwhile are served
// the pair in service, without waiting.
func (r *Reloader) check() {
	if !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	defer r.nextCheck.Store(r.now().Add(r.checkEvery).UnixNano())
	st, err := r.stat()
	if err == nil && st == r.loaded {
		return
	}
	if err == nil {
		if err = r.load(st); err == nil {
			r.log.Info("tls certificate reloaded", "cert_file", r.certFile, "not_after", r.cert.Load().Leaf.NotAfter)
			return
		}
	}
	// A file being replaced fails to load until the replacement is
	// complete: try again at each check, but say so once per state of
	// the files.
	if !r.warned || st != r.failed {
		r.failed, r.warned = st, true
		r.log.Warn("tls certificate not reloaded, the previous one stays in service", "cert_file", r.certFile, "key_file", r.keyFile, "err", err)
	}
}

func (r *Reloader) stat() (stamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return stamp{}, fmt.Errorf("tls certificate: %w", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return stamp{}, fmt.Errorf("tls key: %w", err)
	}
	return stamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// load reads the pair and puts it in service, as of the files' stamp st.
func (r *Reloader) load(st stamp) error {
	pair, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert.Store(&pair)
	r.loaded, r.warned = st, false
	return nil
}
