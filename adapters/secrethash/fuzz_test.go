package secrethash

// Fuzz target for stored secret hashes: data that an operator imports or
// edits, so a damaged or hostile one must be refused, never run with
// absurd costs. Only cheap parameters are ever hashed here.

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// phc writes argon2id parameters, salt and key in the PHC string format
// HashSecret writes.
func phc(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// FuzzVerifySecret checks the hash reader on any text: an argon2id string
// is read or refused, never both, and what is read is within the limits
// and reads the same written again; a hash with cheap parameters checks
// the secret it was made from and no other; bcrypt hashes above the cost
// limit are refused without being run; any other format is an error.
func FuzzVerifySecret(f *testing.F) {
	cheap := Params{MemoryKiB: 8, Time: 1, Threads: 1}
	salt := []byte("0123456789abcdef")
	f.Add(phc(cheap, salt, argon2.IDKey([]byte("s3cret"), salt, 1, 8, 1, 32)), "s3cret")
	f.Add(phc(DefaultParams, salt, make([]byte, 32)), "x")
	f.Add("$argon2id$v=19$m=4194304,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=19$m=08,t=01,p=1$MDEyMzQ1Njc$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=16$m=8,t=1,p=1$MDEyMzQ1Njc$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=19$m=8,t=1,p=256$MDEyMzQ1Njc$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc=$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$MDEyMw$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc$AAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$2b$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234", "")
	f.Add("$argon2i$v=19$m=8,t=1,p=1$MDEyMzQ1Njc$AAAAAAAAAAAAAAAAAAAAAA", "")
	if b, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost); err == nil {
		f.Add(string(b), "s3cret")
	}
	h := NewHasher(cheap)
	f.Fuzz(func(t *testing.T, hash, secret string) {
		if strings.HasPrefix(hash, "$argon2id$") {
			p, salt, key, err := parseArgon2id(hash)
			if err != nil {
				if p != (Params{}) || salt != nil || key != nil {
					t.Fatalf("parseArgon2id(%q) returned values with error %v", hash, err)
				}
				if ok, verr := h.VerifySecret(hash, secret); ok || verr == nil {
					t.Fatalf("VerifySecret on a hash that does not parse = %v, %v", ok, verr)
				}
				return
			}
			if p.check() != nil || len(salt) < minSaltBytes || len(salt) > maxSaltBytes || len(key) < minKeyBytes || len(key) > maxKeyBytes {
				t.Fatalf("parseArgon2id(%q) passed %+v with %d-byte salt and %d-byte key", hash, p, len(salt), len(key))
			}
			again := phc(p, salt, key)
			p2, salt2, key2, err := parseArgon2id(again)
			if err != nil || p2 != p || string(salt2) != string(salt) || string(key2) != string(key) {
				t.Fatalf("%q written again as %q reads as %+v, %v", hash, again, p2, err)
			}
			if p.MemoryKiB > 64 || p.Time > 2 {
				return // too costly to run per input
			}
			made := phc(p, salt, argon2.IDKey([]byte(secret), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key))))
			if ok, err := h.VerifySecret(made, secret); !ok || err != nil {
				t.Fatalf("VerifySecret(%q, its own secret) = %v, %v", made, ok, err)
			}
			if ok, err := h.VerifySecret(made, secret+"x"); ok || err != nil {
				t.Fatalf("VerifySecret(%q, another secret) = %v, %v", made, ok, err)
			}
			return
		}
		isBcrypt := strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")
		if isBcrypt && len(hash) == bcryptHashLen {
			if cost, err := bcrypt.Cost([]byte(hash)); err == nil && cost > bcrypt.MinCost && cost <= maxBcryptCost {
				return // a real bcrypt run; too slow per input
			}
		}
		ok, err := h.VerifySecret(hash, secret)
		if ok && err != nil {
			t.Fatalf("VerifySecret(%q) = true with error %v", hash, err)
		}
		if !isBcrypt && (ok || err == nil) {
			t.Fatalf("VerifySecret on unknown format %q = %v, %v", hash, ok, err)
		}
		if ok {
			if bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret)) != nil {
				t.Fatalf("VerifySecret(%q, %q) = true; bcrypt says no", hash, secret)
			}
		}
	})
}
