package bootstrap

import (
	"strings"
	"testing"
)

func TestClientsFileWithASecondDocumentIsRefused(t *testing.T) {
	one := "clients:\n  - id: a\n    secrets: [{id: s1, secret: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}]\n    scopes: [country.read]\n"
	getenv := func(string) string { return "" }
	if in, err := ParseClientsFile([]byte(one), getenv); err != nil || len(in) != 1 {
		t.Fatalf("one document: %d clients, %v", len(in), err)
	}
	_, err := ParseClientsFile([]byte(one+"---\nclients:\n  - id: b\n    secrets: [{id: s1, secret: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}]\n"), getenv)
	if err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Fatalf("a second document was not refused: %v", err)
	}
}
