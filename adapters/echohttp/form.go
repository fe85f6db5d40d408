package echohttp

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sigilauth/sigil/domain"
)

var (
	errNotForm = domain.ErrInvalidRequest.With("content type must be " + echo.MIMEApplicationForm)
	errBadForm = domain.ErrInvalidRequest.With("malformed form body")
	errNoBody  = domain.ErrInvalidRequest.With("request body could not be read")
)

// readForm reads the form body of a request to the token, introspection
// or revocation endpoint (RFC 6749 §4.4.2, RFC 7662 §2.1, RFC 7009 §2.1).
// Parameters in the query string are ignored: the credentials and tokens
// these requests carry belong in the body. A repeated parameter is refused
// (RFC 6749 §3.2) unless it is one of repeatable, which only resource is
// (RFC 8707 §2). Values are read with Get, so an empty value counts as
// absent (RFC 6749 §3.1).
func readForm(req *http.Request, repeatable ...string) (url.Values, error) {
	if ct := req.Header.Get(echo.HeaderContentType); !strings.EqualFold(ct, echo.MIMEApplicationForm) {
		// The bare type, what clients send, needs no parsing; with a
		// charset or other parameter it is still a form. Another type is
		// not.
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationForm {
			return nil, errNotForm
		}
	}
	body, err := readBody(req)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("read form: %w", err)
		}
		return nil, errNoBody
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errBadForm
	}
	for name, values := range form {
		if len(values) > 1 && !slices.Contains(repeatable, name) {
			return nil, domain.ErrInvalidRequest.With(repeatedDescription(name))
		}
	}
	return form, nil
}

// readBody reads the whole body: into a buffer of the declared length
// when there is one (net/http delivers no more than declared), and into a
// growing buffer otherwise or when the declared length is large, so that
// a client cannot make the server allocate what it never sends.
func readBody(req *http.Request) ([]byte, error) {
	if n := req.ContentLength; n > 0 && n <= 64<<10 {
		body := make([]byte, n)
		if _, err := io.ReadFull(req.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(req.Body)
}

// paramResource is the resource indicator (RFC 8707 §2) and paramAudience
// the token exchange's audience (RFC 8693 §2.1), the token request
// parameters that may be repeated.
const (
	paramResource = "resource"
	paramAudience = "audience"
)

// resources returns the non-empty values of the repeatable parameter name
// (paramResource, paramAudience) in the order sent; an empty one is as if
// omitted (RFC 6749 §3.1). Checking that each is a target the client may
// ask for is the use case's.
func resources(form url.Values, name string) []string {
	var out []string
	for _, r := range form[name] {
		if r != "" {
			out = append(out, r)
		}
	}
	return out
}

// repeatedDescription names a repeated parameter when its name is plain
// enough to echo back; RFC 6749 §5.2 restricts what a description holds.
func repeatedDescription(name string) string {
	if name == "" || len(name) > 32 {
		return "a parameter is repeated"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return "a parameter is repeated"
		}
	}
	return "parameter " + name + " is repeated"
}
