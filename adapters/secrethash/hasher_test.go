package secrethash_test

import (
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sigilauth/sigil/adapters/secrethash"
)

// cheap keeps tests fast where the cost is not what is tested.
var cheap = secrethash.Params{MemoryKiB: 64, Time: 1, Threads: 1}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerifyRoundTrip(t *testing.T) {
	h := secrethash.NewHasher(secrethash.DefaultParams)
	hash, err := h.HashSecret("service-client-jwt-secret")
	if err != nil {
		t.Fatal(err)
	}
	// 16-byte salt and 32-byte key, raw standard base64, OWASP parameters.
	if !phc.MatchString(hash) {
		t.Errorf("hash %q is not a PHC argon2id string with the default parameters", hash)
	}
	if ok, err := h.VerifySecret(hash, "service-client-jwt-secret"); !ok || err != nil {
		t.Errorf("right secret: %v, %v", ok, err)
	}
	for _, wrong := range []string{"service-client-jwt-secreT", "service-client-jwt-secret ", "", "x"} {
		if ok, err := h.VerifySecret(hash, wrong); ok || err != nil {
			t.Errorf("wrong secret %q: %v, %v, want false, nil", wrong, ok, err)
		}
	}
	if strings.Contains(hash, "service-client") {
		t.Error("hash contains the secret")
	}
}

func TestZeroParamsAreTheDefaults(t *testing.T) {
	hash, err := secrethash.NewHasher(secrethash.Params{}).HashSecret("s")
	if err != nil {
		t.Fatal(err)
	}
	if !phc.MatchString(hash) {
		t.Errorf("hash %q does not carry the default parameters", hash)
	}
}

func TestSaltDiffersBetweenHashesOfTheSameSecret(t *testing.T) {
	h := secrethash.NewHasher(cheap)
	a, err := h.HashSecret("same")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.HashSecret("same")
	if err != nil {
		t.Fatal(err)
	}
	saltOf := func(s string) string { return strings.Split(s, "$")[4] }
	if saltOf(a) == saltOf(b) || a == b {
		t.Errorf("two hashes of one secret share a salt:\n%s\n%s", a, b)
	}
}

func TestHashWithOtherParametersStillVerifies(t *testing.T) {
	old, err := secrethash.NewHasher(secrethash.Params{MemoryKiB: 4096, Time: 3, Threads: 2}).HashSecret("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(old, "$argon2id$v=19$m=4096,t=3,p=2$") {
		t.Fatalf("hash %q does not carry its parameters", old)
	}
	current := secrethash.NewHasher(secrethash.DefaultParams)
	if ok, err := current.VerifySecret(old, "s3cret"); !ok || err != nil {
		t.Errorf("old-parameter hash: %v, %v", ok, err)
	}
	if ok, err := current.VerifySecret(old, "s3cret!"); ok || err != nil {
		t.Errorf("old-parameter hash, wrong secret: %v, %v", ok, err)
	}
}

// A hash made by another implementation: the argon2 reference's own test
// vectors (phc-winner-argon2, src/test.c).
func TestReferenceImplementationHashesVerify(t *testing.T) {
	h := secrethash.NewHasher(cheap)
	for _, hash := range []string{
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		if ok, err := h.VerifySecret(hash, "password"); !ok || err != nil {
			t.Errorf("%s: %v, %v", hash, ok, err)
		}
		if ok, err := h.VerifySecret(hash, "passwore"); ok || err != nil {
			t.Errorf("%s with a wrong secret: %v, %v", hash, ok, err)
		}
	}
}

func TestImportedBcryptHashesVerify(t *testing.T) {
	h := secrethash.NewHasher(cheap)
	made, err := bcrypt.GenerateFromPassword([]byte("imported"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		string(made): "imported",
		// $2b$ and $2y$ differ from $2a$ only in how other implementations
		// treated long or non-ASCII input; the algorithm is the same.
		"$2b$" + string(made[4:]): "imported",
		// PHP's password_verify example.
		"$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a": "rasmuslerdorf",
	}
	for hash, secret := range cases {
		if ok, err := h.VerifySecret(hash, secret); !ok || err != nil {
			t.Errorf("%s: %v, %v", hash, ok, err)
		}
		if ok, err := h.VerifySecret(hash, secret+"x"); ok || err != nil {
			t.Errorf("%s with a wrong secret: %v, %v, want false, nil", hash, ok, err)
		}
	}
}

func TestMalformedHashesAreErrors(t *testing.T) {
	h := secrethash.NewHasher(cheap)
	good, err := h.HashSecret("s")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	bc, _ := bcrypt.GenerateFromPassword([]byte("s"), bcrypt.MinCost)
	for name, hash := range map[string]string{
		"empty":               "",
		"plain text":          "s",
		"argon2i":             strings.Replace(good, "argon2id", "argon2i", 1),
		"argon2d":             strings.Replace(good, "argon2id", "argon2d", 1),
		"scrypt":              "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
		"missing hash":        strings.Join(parts[:5], "$"),
		"extra field":         good + "$x",
		"old version":         with(2, "v=16"),
		"no version":          "$argon2id$" + strings.Join(parts[3:], "$"),
		"params out of order": with(3, "t=1,m=64,p=1"),
		"param missing":       with(3, "m=64,t=1"),
		"param negative":      with(3, "m=64,t=-1,p=1"),
		"param signed":        with(3, "m=+64,t=1,p=1"),
		"param not a number":  with(3, "m=lots,t=1,p=1"),
		"param overflows":     with(3, "m=99999999999,t=1,p=1"),
		"threads overflow":    with(3, "m=64,t=1,p=256"),
		"time zero":           with(3, "m=64,t=0,p=1"),
		"threads zero":        with(3, "m=64,t=1,p=0"),
		"memory below 8p":     with(3, "m=15,t=1,p=2"),
		"salt not base64":     with(4, "!!!!"),
		"salt padded":         with(4, parts[4]+"=="),
		"salt too short":      with(4, "c2FsdA"),
		"hash not base64":     with(5, "%%%%"),
		"hash too short":      with(5, "c2FsdA"),
		"bcrypt truncated":    string(bc[:50]),
		"bcrypt bad cost":     "$2a$99$" + string(bc[7:]),
		"bcrypt bad salt":     "$2a$04$" + strings.Repeat("!", 53),
		"bcrypt $2x$":         "$2x$" + string(bc[4:]),
	} {
		t.Run(name, func(t *testing.T) {
			ok, err := h.VerifySecret(hash, "s")
			if err == nil || ok {
				t.Errorf("VerifySecret(%q) = %v, %v, want an error", hash, ok, err)
			}
		})
	}
}

func TestAbsurdParametersAreRefused(t *testing.T) {
	h := secrethash.NewHasher(cheap)
	salt, hash := "c29tZXNhbHQ", "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	for _, params := range []string{
		"m=4194304,t=2,p=1", // 4 GiB
		"m=1048577,t=2,p=1", // just over 1 GiB
		"m=4294967295,t=1,p=1",
		"m=256,t=4294967295,p=1",
	} {
		stored := "$argon2id$v=19$" + params + "$" + salt + "$" + hash
		// Returns at once with an error: were the parameters used, this
		// would exhaust memory or run for hours.
		if ok, err := h.VerifySecret(stored, "password"); err == nil || ok {
			t.Errorf("%s: %v, %v, want an error", params, ok, err)
		}
	}
	// A bcrypt cost of 31 is 2^31 rounds: days.
	if ok, err := h.VerifySecret("$2a$31$"+strings.Repeat("a", 53), "x"); err == nil || ok {
		t.Errorf("bcrypt cost 31: %v, %v, want an error", ok, err)
	}
	// The hasher refuses to make such hashes too.
	if _, err := secrethash.NewHasher(secrethash.Params{MemoryKiB: 8 << 20}).HashSecret("x"); err == nil {
		t.Error("hashed with 8 GiB")
	}
}

func BenchmarkVerifySecret(b *testing.B) {
	h := secrethash.NewHasher(secrethash.DefaultParams)
	hash, err := h.HashSecret("service-client-jwt-secret")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := h.VerifySecret(hash, "service-client-jwt-secret"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
