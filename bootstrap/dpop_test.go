package bootstrap_test

import (
	"strings"
	"testing"

	"github.com/sigilauth/sigil/bootstrap"
)

func TestDPoPSettingsAreChecked(t *testing.T) {
	for value, ok := range map[string]bool{
		"":                                  true,
		"https://api.example.com/ms-system": true,
		"http://localhost:8091/ms-system":   true,
		"api.example.com/ms-system":         false,
		"ftp://api.example.com":             false,
		"https://api.example.com/x?y=1":     false,
		"https://api.example.com/x#y":       false,
	} {
		c := bootstrap.Defaults()
		c.ResourcePublicURL = value
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("resource-public-url %q: Validate = %v", value, err)
		}
	}
	c := bootstrap.Defaults()
	c.DPoPProofWindow = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "dpop-proof-window") {
		t.Errorf("a zero dpop-proof-window: Validate = %v", err)
	}
}
