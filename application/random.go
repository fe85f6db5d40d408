package application

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

// opaqueTokenBytes is the entropy of an opaque access token: 256 bits.
const opaqueTokenBytes = 32

// newOpaqueValue draws an opaque token value: 256 random bits, base64url.
func newOpaqueValue(r io.Reader) (string, error) {
	var b [opaqueTokenBytes]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// newUUID draws a random (version 4) UUID, used as jti and kid.
func newUUID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:]), nil
}
