package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckCommand is `sigil healthcheck [--url URL] [--timeout D]
// [--insecure]`: it asks a listener's /healthz and exits 0 on a 2xx
// answer, 1 otherwise. It is the container image's HEALTHCHECK, since a
// scratch image has no curl. --insecure skips the certificate check of an
// https URL: the check asks the listener on loopback, whose certificate
// names the public host, and learns only whether it answers.
func healthcheckCommand(e env) *cobra.Command {
	var url string
	var timeout time.Duration
	var insecure bool
	c := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 if a listener's /healthz answers 2xx (the container image's health check)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(c.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return usagef("healthcheck: %v", err)
			}
			transport := http.DefaultTransport.(*http.Transport).Clone()
			if insecure {
				transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // a liveness check of the local listener, see above
			}
			resp, err := (&http.Client{Transport: transport}).Do(req)
			if err != nil {
				return fmt.Errorf("healthcheck: %w", err)
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
			}
			fmt.Fprintf(e.stdout, "%s answered %s\n", url, resp.Status)
			return nil
		},
	}
	c.Flags().StringVar(&url, "url", "http://127.0.0.1:8085/healthz", "URL to ask")
	c.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	c.Flags().BoolVar(&insecure, "insecure", false, "do not check the certificate of an https URL")
	return c
}
