package dpopclient

import (
	"crypto/hmac"
	"crypto/sha256"
)

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}
