package bootstrap_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/bootstrap"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// adminConfig is the configuration of a new SQLite database, made as
// `sigil migrate` makes it: the commands refuse one that does not exist.
func adminConfig(t *testing.T) bootstrap.Config {
	t.Helper()
	c := bootstrap.Defaults()
	c.DatabaseDSN = t.TempDir() + "/sigil.db"
	if err := bootstrap.MigrateDatabase(t.Context(), c, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func registerInput(id string) application.RegisterClientInput {
	s := domain.NewScopes("country.read")
	return application.RegisterClientInput{
		Client: domain.Client{
			ID: id, AuthMethods: []domain.AuthMethod{domain.AuthClientSecretBasic},
			GrantTypes: []domain.GrantType{domain.GrantClientCredentials}, AllowedScopes: s, DefaultScopes: s,
			TokenFormat: domain.FormatJWT,
		},
		Secrets: []application.SecretSpec{{ID: "1", Secret: "a-secret"}},
	}
}

// The commands' Admin opens and migrates the database as `sigil serve`
// does, works over it, and Close releases it.
func TestAdminWorksOverTheMigratedDatabaseUntilClosed(t *testing.T) {
	c := adminConfig(t)
	a, err := bootstrap.OpenAdmin(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Register.Handle(t.Context(), registerInput("billing")); err != nil {
		t.Fatalf("register: %v", err)
	}
	if res, err := a.Rotate.Handle(t.Context(), application.RotateInput{Force: true}); err != nil || res.Published == "" {
		t.Fatalf("rotate: %+v %v", res, err)
	}
	if err := a.ClientChanged(t.Context(), "billing"); err != nil {
		t.Errorf("without Redis there is no one to tell, and no error: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := a.Clients.ListClients(context.Background()); err == nil {
		t.Error("the database still answers after Close")
	}

	// What the first Admin wrote is there for the next, as for a node.
	b, err := bootstrap.OpenAdmin(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	list, err := b.Clients.ListClients(t.Context())
	if err != nil || len(list) != 1 || list[0].ID != "billing" {
		t.Errorf("clients %v, %v; want billing", list, err)
	}
	keys, err := b.Keys.ListSigningKeys(t.Context())
	if err != nil || len(keys) != 1 {
		t.Errorf("keys %v, %v; want the one published", keys, err)
	}
}

// A command does its work while Redis is down; only the news of it to the
// running nodes fails, within redis-timeout.
func TestAdminWorksWhileRedisIsDown(t *testing.T) {
	c := adminConfig(t)
	c.RedisAddr = "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	c.RedisTimeout = 200 * time.Millisecond
	a, err := bootstrap.OpenAdmin(t.Context(), c, nil)
	if err != nil {
		t.Fatalf("open with Redis down: %v", err)
	}
	defer a.Close()
	if err := a.Register.Handle(t.Context(), registerInput("billing")); err != nil {
		t.Fatalf("register: %v", err)
	}
	start := time.Now()
	err = a.ClientChanged(t.Context(), "billing")
	if !errors.Is(err, domain.ErrTemporarilyUnavailable) {
		t.Errorf("telling the nodes with Redis down: %v, want temporarily unavailable", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("telling the nodes took %v with a redis-timeout of 200ms", took)
	}
}

func TestAdminWithRedisTellsTheNodes(t *testing.T) {
	client, prefix := testenv.Redis(t)
	c := adminConfig(t)
	c.RedisAddr, c.RedisPrefix = testenv.RedisAddr(), prefix
	sub := client.Subscribe(t.Context(), prefix+"events")
	defer sub.Close()
	if _, err := sub.Receive(t.Context()); err != nil {
		t.Fatal(err)
	}
	a, err := bootstrap.OpenAdmin(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.ClientChanged(t.Context(), "billing"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil || !strings.Contains(msg.Payload, "billing") {
		t.Errorf("the feed carried %v, %v; want the change of billing", msg, err)
	}
}

// A command that cannot start says why in the words of the part that
// failed, not in those of the dependency graph.
func TestAdminStartErrorsAreTheCause(t *testing.T) {
	c := adminConfig(t)
	c.DatabaseDriver = "postgres"
	c.DatabaseDSN = testenv.PostgresDSN(t)
	_, err := bootstrap.OpenAdmin(t.Context(), c, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "key-encryption key: no key-encryption key") {
		t.Errorf("got %v, want the key-encryption key's own error", err)
	}
}
