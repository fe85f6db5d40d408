package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheck runs `sigil healthcheck [--url URL] [--timeout D] [--insecure]`:
// it asks a listener's /healthz and exits 0 on a 2xx answer, 1 otherwise.
// It is the container image's HEALTHCHECK, since a scratch image has no
// curl. --insecure skips the certificate check of an https URL: the
// check asks the listener on loopback, whose certificate names the public
// host, and learns only whether it answers.
func healthcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sigil healthcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	url := fs.String("url", "http://127.0.0.1:8085/healthz", "URL to ask")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	insecure := fs.Bool("insecure", false, "do not check the certificate of an https URL")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "sigil: usage: sigil healthcheck [--url URL] [--timeout DURATION] [--insecure]")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "sigil: healthcheck: %v\n", err)
		return 2
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if *insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // a liveness check of the local listener, see above
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "sigil: healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "sigil: healthcheck: %s answered %s\n", *url, resp.Status)
		return 1
	}
	fmt.Fprintf(stdout, "%s answered %s\n", *url, resp.Status)
	return 0
}
