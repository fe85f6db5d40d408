package redisstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// demoToken has the shape of a token issued to the opaque demo client,
// which is what the introspection endpoint mostly reads.
func demoToken() domain.Token {
	now := time.Now().Truncate(time.Second)
	return domain.Token{
		Value:     "value-never-stored",
		Format:    domain.FormatOpaque,
		ID:        "4df7aa1c-96be-4653-a7bd-2f1e0b3c5d6e",
		Issuer:    "http://localhost:8085/ms-auth-server",
		Subject:   "user-client-opaque",
		ClientID:  "user-client-opaque",
		Scopes:    domain.NewScopes("country.read"),
		Audience:  []string{"user-client-opaque"},
		IssuedAt:  now,
		NotBefore: now,
		ExpiresAt: now.Add(4 * time.Hour),
	}
}

// sameWire compares field by field: times by instant, lists by content,
// nil and empty alike, as JSON's omitempty never told them apart either.
func sameWire(t *testing.T, got, want tokenWire) {
	t.Helper()
	check := func(field string, same bool, g, w any) {
		if !same {
			t.Errorf("%s = %#v, want %#v", field, g, w)
		}
	}
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("Format", got.Format == want.Format, got.Format, want.Format)
	check("Issuer", got.Issuer == want.Issuer, got.Issuer, want.Issuer)
	check("Subject", got.Subject == want.Subject, got.Subject, want.Subject)
	check("ClientID", got.ClientID == want.ClientID, got.ClientID, want.ClientID)
	check("Scopes", slices.Equal(got.Scopes, want.Scopes), got.Scopes, want.Scopes)
	check("Audience", slices.Equal(got.Audience, want.Audience), got.Audience, want.Audience)
	check("JKT", got.JKT == want.JKT, got.JKT, want.JKT)
	check("X5T", got.X5T == want.X5T, got.X5T, want.X5T)
	check("Act", got.Act == want.Act, got.Act, want.Act)
	check("Parent", got.Parent == want.Parent, got.Parent, want.Parent)
	for _, tm := range []struct {
		field     string
		got, want time.Time
	}{
		{"IssuedAt", got.IssuedAt, want.IssuedAt},
		{"NotBefore", got.NotBefore, want.NotBefore},
		{"ExpiresAt", got.ExpiresAt, want.ExpiresAt},
	} {
		// Equal compares instants, so a zero time must come back zero.
		check(tm.field, tm.got.Equal(tm.want), tm.got, tm.want)
	}
}

func TestBinaryTokenRoundTrips(t *testing.T) {
	now := time.Now()
	everything := demoToken()
	everything.Scopes = domain.NewScopes("country.read", "customer.read", "customer.write")
	everything.Audience = []string{"user-client-opaque", "https://api.example.com/resource with space"}

	subSecond := demoToken()
	subSecond.IssuedAt = now // with its monotonic reading, which must not matter
	subSecond.NotBefore = time.Date(2026, 3, 1, 12, 0, 0, 1, time.FixedZone("CET", 3600))
	subSecond.ExpiresAt = time.Date(2026, 3, 1, 16, 0, 0, 999_999_999, time.UTC)

	before1970 := demoToken()
	before1970.IssuedAt = time.Date(1969, 12, 31, 23, 59, 59, 500_000_000, time.UTC)
	before1970.NotBefore = time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC) // a second after the zero time

	unicode := demoToken()
	unicode.Subject = "Zoë Łukasiewicz 🔑"
	unicode.Issuer = "https://例え.jp/ms-auth-server"
	unicode.Audience = []string{"ünïcødé", "", "日本"}

	long := demoToken()
	long.ID = strings.Repeat("j", 300) // a length that takes two varint bytes
	long.Audience = make([]string, 200)
	for i := range long.Audience {
		long.Audience[i] = fmt.Sprint("aud-", i)
	}

	bound := demoToken()
	bound.JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"

	exchanged := demoToken()
	exchanged.Actor = &domain.Actor{Subject: "service-b", Prior: &domain.Actor{Subject: "spiffe://example.org/a", Issuer: "https://spire.example.org"}}
	exchanged.Parent = "a1c0f7d2-0000-4000-8000-000000000001"

	for name, tok := range map[string]domain.Token{
		"bound to a DPoP key":    bound,
		"exchanged, with act":    exchanged,
		"every field set":        everything,
		"demo client":            demoToken(),
		"sub-second times":       subSecond,
		"times before 1970":      before1970,
		"unicode strings":        unicode,
		"long strings and lists": long,
		"empty lists":            {Format: domain.FormatOpaque, Scopes: domain.Scopes{}, Audience: []string{}, ExpiresAt: now.Add(time.Minute)},
		"nil lists":              {Format: domain.FormatOpaque, ExpiresAt: now.Add(time.Minute)},
		"zero times":             {ID: "j", Format: domain.FormatOpaque, Scopes: domain.NewScopes("a")},
		"nothing at all":         {},
	} {
		t.Run(name, func(t *testing.T) {
			want := toWire(tok)
			b := encodeToken(want)
			if b[0] == '{' {
				t.Fatalf("encoding starts with '{' and would be read as JSON")
			}
			got, err := decodeToken(string(b))
			if err != nil {
				t.Fatalf("decodeToken: %v", err)
			}
			sameWire(t, got, want)
		})
	}
}

func TestEmptyListsComeBackNil(t *testing.T) {
	// An empty list comes back nil, as it did from JSON: callers must not
	// come to rely on a distinction the legacy values cannot make.
	got, err := decodeToken(string(encodeToken(tokenWire{Scopes: []string{}, Audience: []string{}})))
	if err != nil {
		t.Fatalf("decodeToken: %v", err)
	}
	if got.Scopes != nil || got.Audience != nil {
		t.Errorf("Scopes = %#v, Audience = %#v; want both nil", got.Scopes, got.Audience)
	}
}

func TestStoredScopesAreNormalisedOnRead(t *testing.T) {
	// Scopes.Contains searches a sorted list, so a stored list that is not
	// sorted (written by hand, or by some bug) must not make a granted
	// scope look missing.
	w := toWire(demoToken())
	w.Scopes = []string{"customer.read", "country.read", "customer.read"}
	got, err := decodeToken(string(encodeToken(w)))
	if err != nil {
		t.Fatalf("decodeToken: %v", err)
	}
	scopes := got.toDomain("v").Scopes
	if want := domain.NewScopes("country.read", "customer.read"); !slices.Equal(scopes, want) {
		t.Errorf("Scopes = %v, want %v", scopes, want)
	}
	if !scopes.Contains("country.read") {
		t.Error("the decoded scopes do not contain country.read")
	}
}

func TestBadBinaryTokensAreErrors(t *testing.T) {
	valid := encodeToken(toWire(demoToken()))
	cases := map[string][]byte{
		"empty":              {},
		"unknown version":    append([]byte{0x02}, valid[1:]...),
		"version zero":       append([]byte{0x00}, valid[1:]...),
		"trailing byte":      append(slices.Clone(valid), 0),
		"only the version":   {tokenWireV1},
		"string past end":    {tokenWireV1, 5, 'a', 'b'},
		"varint never ends":  {tokenWireV1, 0x80, 0x80},
		"varint overflows":   append([]byte{tokenWireV1}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
		"huge list count":    binary.AppendUvarint([]byte{tokenWireV1, 0, 0, 0, 0, 0}, 1<<62),
		"huge string length": binary.AppendUvarint([]byte{tokenWireV1}, 1<<40),
		"bad time presence":  {tokenWireV1, 0, 0, 0, 0, 0, 0, 0, 2},
		"time without secs":  {tokenWireV1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		"a billion nanos":    binary.AppendUvarint([]byte{tokenWireV1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, uint64(time.Second)),
		"garbage":            []byte("\x01\xde\xad\xbe\xef"),
		"JSON":               []byte(`{"jti":"x","fmt":"opaque","exp":"2026-01-01T00:00:00Z"}`),
	}
	// Every proper prefix of a valid value is truncated.
	for n := range len(valid) {
		cases[fmt.Sprint("first ", n, " bytes")] = valid[:n]
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if got, err := decodeToken(string(data)); err == nil {
				t.Errorf("decodeToken(% x) = %+v, want an error", data, got)
			}
		})
	}
}

// TestTokenSavedAsJSONIsStillFound stores a value as Sigil did before the
// binary form and reads it through FindToken: tokens issued before an
// upgrade must stay valid until they expire.
func TestTokenSavedAsJSONIsStillFound(t *testing.T) {
	client, prefix := testenv.Redis(t)
	store := NewTokens(client, prefix)
	want := demoToken()
	want.Scopes = domain.NewScopes("country.read", "customer.read")
	want.NotBefore = want.IssuedAt.Add(time.Second)

	legacy, err := json.Marshal(toWire(want))
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if err := client.Set(t.Context(), store.key(want.Value), legacy, time.Hour).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	got, err := store.FindToken(t.Context(), want.Value)
	if err != nil {
		t.Fatalf("FindToken of a JSON value: %v", err)
	}
	if got.Value != want.Value {
		t.Errorf("Value = %q, want %q", got.Value, want.Value)
	}
	sameWire(t, toWire(got), toWire(want))

	// Saving the token again writes the binary form, which is found too.
	if err := store.SaveToken(t.Context(), want); err != nil {
		t.Fatalf("SaveToken: %v", err)
	}
	stored, err := client.Get(t.Context(), store.key(want.Value)).Result()
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	if stored == "" || stored[0] != tokenWireV1 {
		t.Fatalf("SaveToken stored %q, want the binary form", stored)
	}
	got, err = store.FindToken(t.Context(), want.Value)
	if err != nil {
		t.Fatalf("FindToken of a binary value: %v", err)
	}
	sameWire(t, toWire(got), toWire(want))
}

func TestCorruptStoredTokenIsAnErrorNotNotFound(t *testing.T) {
	// A value FindToken cannot read is a fault to report (500), not an
	// unknown token (inactive).
	client, prefix := testenv.Redis(t)
	store := NewTokens(client, prefix)
	for name, value := range map[string]string{
		"binary, truncated": string(encodeToken(toWire(demoToken()))[:20]),
		"JSON, truncated":   `{"jti":"x",`,
		"unknown version":   "\x02",
	} {
		t.Run(name, func(t *testing.T) {
			if err := client.Set(t.Context(), store.key(name), value, time.Hour).Err(); err != nil {
				t.Fatalf("SET: %v", err)
			}
			if got, err := store.FindToken(t.Context(), name); err == nil || errors.Is(err, domain.ErrNotFound) {
				t.Errorf("FindToken = %+v, %v; want a decode error", got, err)
			}
		})
	}
}

// FuzzDecodeToken checks that no input makes decodeToken panic, that what
// it accepts survives being written again, and that tokens built from
// arbitrary strings and instants round-trip. Its seeds run with go test.
func FuzzDecodeToken(f *testing.F) {
	valid := encodeToken(toWire(demoToken()))
	f.Add(valid, "jti", "iss", "sub", "cid", "scope", "aud", int64(1767225600), uint32(0))
	f.Add(valid[:len(valid)/2], "", "", "", "", "", "", int64(0), uint32(999_999_999))
	f.Add([]byte{}, "ünï", "\x00", "\xff", "a b", "z", "", int64(-62135596800), uint32(1))
	f.Add([]byte{0x02}, "", "", "", "", "", "", int64(-1), uint32(500_000_000))
	f.Add(append(slices.Clone(valid), 0), "x", "", "", "", "", "y", int64(1<<62), uint32(0))
	f.Add([]byte(`{"fmt":"opaque"}`), "", "", "", "", "", "", int64(-1<<62), uint32(7))
	f.Fuzz(func(t *testing.T, data []byte, jti, iss, sub, cid, scope, aud string, sec int64, nsec uint32) {
		if w, err := decodeToken(string(data)); err == nil {
			again, err := decodeToken(string(encodeToken(w)))
			if err != nil {
				t.Fatalf("decoding the re-encoding of an accepted value: %v", err)
			}
			sameWire(t, again, w)
		}

		at := time.Unix(sec, int64(nsec%uint32(time.Second)))
		want := tokenWire{
			ID: jti, Format: string(domain.FormatOpaque), Issuer: iss, Subject: sub, ClientID: cid,
			Scopes: domain.NewScopes(scope, jti), Audience: []string{aud, sub},
			IssuedAt: at, NotBefore: at.Add(time.Second), ExpiresAt: at.Add(time.Hour), JKT: cid,
		}
		got, err := decodeToken(string(encodeToken(want)))
		if err != nil {
			t.Fatalf("decodeToken(encodeToken(%+v)): %v", want, err)
		}
		sameWire(t, got, want)
	})
}

// BenchmarkCodec measures the encoding of a stored token, as SaveToken
// does it, and the decoding, as FindToken does it from the string Redis
// replies with, in the binary form and in the JSON form it replaces.
func BenchmarkCodec(b *testing.B) {
	w := toWire(demoToken())
	bin := string(encodeToken(w))
	js, err := json.Marshal(w)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("binary %d bytes, JSON %d bytes", len(bin), len(js))

	b.Run("binary/encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeToken(w)
		}
	})
	b.Run("binary/decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeStoredToken(bin); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json/encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json/decode", func(b *testing.B) {
		// From the []byte, as the old FindToken had it; the legacy path
		// of decodeStoredToken costs one copy more.
		b.ReportAllocs()
		for b.Loop() {
			var got tokenWire
			if err := json.Unmarshal(js, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBearerTokensKeepVersionOne: a node of the release before DPoP reads
// the bearer tokens a newer node stores during a rolling upgrade.
func TestBearerTokensKeepVersionOne(t *testing.T) {
	if b := encodeToken(toWire(demoToken())); b[0] != tokenWireV1 {
		t.Errorf("a bearer token is stored as version %d, want 1", b[0])
	}
	bound := demoToken()
	bound.JKT = "jkt"
	if b := encodeToken(toWire(bound)); b[0] != tokenWireV2 {
		t.Errorf("a bound token is stored as version %d, want 2", b[0])
	}
}

func TestExchangedTokensTakeVersionFourAndKeepTheirChain(t *testing.T) {
	tok := demoToken()
	tok.Actor = &domain.Actor{Subject: "service-c", Prior: &domain.Actor{Subject: "service-b"}}
	tok.Parent = "parent-jti"
	b := encodeToken(toWire(tok))
	if b[0] != tokenWireV4 {
		t.Fatalf("an exchanged token is stored as version %d, want 4", b[0])
	}
	w, err := decodeToken(string(b))
	if err != nil {
		t.Fatal(err)
	}
	got, err := actor(w.Act)
	if err != nil {
		t.Fatal(err)
	}
	if got.Depth() != 2 || got.Subject != "service-c" || got.Prior.Subject != "service-b" || w.Parent != "parent-jti" {
		t.Errorf("chain came back as %+v (prior %+v), parent %q", got, got.Prior, w.Parent)
	}
}
