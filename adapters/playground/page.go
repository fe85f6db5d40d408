package playground

import (
	"embed"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// static holds the page: plain HTML, CSS and JavaScript, no build step.
//
//go:embed static
var static embed.FS

// Client is a demo client the page may run the flows as. Its secret is
// the published one of the seed documents.
type Client struct {
	ID     string   `json:"id"`
	Secret string   `json:"secret"`
	Format string   `json:"format"` // "jwt" or "opaque"
	Scopes []string `json:"scopes"`
}

// PageOptions are what the page must know of the running roles.
type PageOptions struct {
	// Issuer is the authorization server's issuer URL (base path
	// included), which the page is served under.
	Issuer string
	// ResourceURL is the resource role as the browser calls it, base
	// path included; its origin is the one connect-src allows besides
	// the page's own.
	ResourceURL string
	// Paths of the endpoints, relative to the issuer and the resource.
	TokenPath, RevocationPath, JWKSPath, EventsPath string
	// ExpiredTokenPath and RotateKeysPath are the playground's own
	// endpoints on the authorization server, relative to the issuer.
	ExpiredTokenPath, RotateKeysPath string
	// IntrospectionClient is who the resource role introspects as.
	IntrospectionClient string
	Clients             []Client
}

// Page serves the playground: GET {prefix} is the page, {prefix}/{file}
// its files and {prefix}/config.json what it runs against. Every answer
// carries a Content-Security-Policy that lets the page reach this server
// and the resource role, nothing else.
func Page(opts PageOptions) (http.Handler, error) {
	config, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self' " + origin(opts.ResourceURL) + "; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		name := path.Base(r.URL.Path)
		if !strings.Contains(name, ".") {
			// The page's links are relative to the directory.
			if !strings.HasSuffix(r.URL.Path, "/") {
				http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
				return
			}
			name = "index.html"
		}
		if name == "config.json" {
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			_, _ = w.Write(config)
			return
		}
		body, err := static.ReadFile("static/" + name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", contentTypes[path.Ext(name)])
		_, _ = w.Write(body)
	}), nil
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// origin is the scheme and host of an absolute URL.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
