package redisstore_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/adapters/redisstore"
	"github.com/sigilauth/sigil/domain"
	"github.com/sigilauth/sigil/test/testenv"
)

// waitLimit bounds every wait for something the feed should do; it is
// reached only when the feed fails to do it.
const waitLimit = 10 * time.Second

// subscriber runs a feed in the background and records what it hands on.
type subscriber struct {
	events     chan domain.Event
	subscribed chan struct{}
	done       chan struct{}
	cancel     context.CancelFunc
}

func runFeed(t *testing.T, feed *redisstore.Feed) *subscriber {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &subscriber{
		events:     make(chan domain.Event, 100),
		subscribed: make(chan struct{}, 100),
		done:       make(chan struct{}),
		cancel:     cancel,
	}
	go func() {
		defer close(s.done)
		feed.Run(ctx,
			func(e domain.Event) { s.events <- e },
			func(context.Context) { s.subscribed <- struct{}{} })
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("no %s within %v", what, waitLimit)
		panic("unreachable")
	}
}

// nothingMore checks that ch holds nothing further, after a round trip
// through the feed has shown that earlier messages were delivered.
func nothingMore[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Errorf("unexpected %s: %+v", what, v)
	default:
	}
}

func sameEvent(t *testing.T, got, want domain.Event) {
	t.Helper()
	if got.Kind != want.Kind || got.JTI != want.JTI || got.KID != want.KID || got.ClientID != want.ClientID || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.IssuedBefore.Equal(want.IssuedBefore) {
		t.Errorf("received %+v, want %+v", got, want)
	}
}

func publish(t *testing.T, feed *redisstore.Feed, e domain.Event) {
	t.Helper()
	if err := feed.Publish(t.Context(), e); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// sampleEvents are one event of each kind; expiries in whole
// milliseconds, the feed's precision.
func sampleEvents() []domain.Event {
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	return []domain.Event{
		{Kind: domain.EventRevoked, JTI: "8c5e5b4e-7d3a-4a43-9a43-0f4d1a2b3c4d", ExpiresAt: exp},
		{Kind: domain.EventKeyRemoved, KID: "62849bea-83a4-4ec6-abce-eb5f0989ec36"},
		{Kind: domain.EventClientChanged, ClientID: "service-client-jwt"},
		{Kind: domain.EventClientTokensRevoked, ClientID: "service-client-jwt", IssuedBefore: exp.Add(-time.Hour)},
	}
}

func newClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestFeedCarriesEachEventToASubscriberOnAnotherClient(t *testing.T) {
	_, prefix := testenv.Redis(t)
	channel := prefix + "events"
	sub := runFeed(t, redisstore.NewFeed(newClient(t, testenv.RedisAddr()), channel, nil))
	receive(t, sub.subscribed, "subscription")

	pub := redisstore.NewFeed(newClient(t, testenv.RedisAddr()), channel, nil)
	for _, want := range sampleEvents() {
		publish(t, pub, want)
		sameEvent(t, receive(t, sub.events, "event"), want)
	}
	nothingMore(t, sub.subscribed, "second subscription")
}

func TestFeedSkipsAndLogsMalformedMessages(t *testing.T) {
	client, prefix := testenv.Redis(t)
	channel := prefix + "events"
	var logs testenv.LockedBuffer
	sub := runFeed(t, redisstore.NewFeed(client, channel, slog.New(slog.NewTextHandler(&logs, nil))))
	receive(t, sub.subscribed, "subscription")

	malformed := []string{
		"not json",
		`{"jti":"no kind"}`,
		`{"k":"revoked","exp":1}`,
		`{"k":"revoked","jti":"no expiry"}`,
		`{"k":"key_removed"}`,
		`{"k":"client_changed","jti":"x"}`,
		`{"k":"client_tokens_revoked","cid":"x"}`,
		`["k","revoked"]`,
	}
	for _, m := range malformed {
		if err := client.Publish(t.Context(), channel, m).Err(); err != nil {
			t.Fatal(err)
		}
	}
	want := sampleEvents()[0]
	publish(t, redisstore.NewFeed(client, channel, nil), want)
	// Messages on one channel arrive in order: once the good one is in,
	// every malformed one has been seen.
	sameEvent(t, receive(t, sub.events, "event"), want)
	nothingMore(t, sub.events, "event from a malformed message")
	if n := strings.Count(logs.String(), "malformed"); n != len(malformed) {
		t.Errorf("%d malformed messages logged, want %d:\n%s", n, len(malformed), logs.String())
	}
}

func TestFeedResubscribesAndSaysSoAfterLosingItsConnection(t *testing.T) {
	addr, _ := testenv.RedisServer(t)
	admin := newClient(t, addr)
	sub := runFeed(t, redisstore.NewFeed(newClient(t, addr), "sigil:events", nil))
	receive(t, sub.subscribed, "first subscription")
	pub := redisstore.NewFeed(admin, "sigil:events", nil)

	for round := range 2 {
		if n, err := admin.ClientKillByFilter(t.Context(), "TYPE", "pubsub").Result(); err != nil || n != 1 {
			t.Fatalf("CLIENT KILL TYPE pubsub = %d, %v; want the subscriber's connection killed", n, err)
		}
		receive(t, sub.subscribed, "subscription after the connection was killed")
		want := sampleEvents()[round]
		publish(t, pub, want)
		sameEvent(t, receive(t, sub.events, "event after resubscribing"), want)
	}
}

func TestFeedRunReturnsWhenItsContextEnds(t *testing.T) {
	client, prefix := testenv.Redis(t)
	channel := prefix + "events"
	sub := runFeed(t, redisstore.NewFeed(client, channel, nil))
	receive(t, sub.subscribed, "subscription")
	sub.cancel()
	receive(t, sub.done, "return of Run")
	// The server notices the closed connection a moment later.
	deadline := time.Now().Add(waitLimit)
	for {
		n, err := client.PubSubNumSub(t.Context(), channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[channel] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PUBSUB NUMSUB %d after Run returned, want no subscriber left", n[channel])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// unreachableClient is a client of a port nothing listens on.
func unreachableClient() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
}

func TestFeedPublishToAnUnreachableRedisFails(t *testing.T) {
	client := unreachableClient()
	defer client.Close()
	if err := redisstore.NewFeed(client, "sigil:events", nil).Publish(t.Context(), sampleEvents()[0]); err == nil {
		t.Error("Publish succeeded with Redis down")
	}
}

func TestFeedAcrossTheMastersOfACluster(t *testing.T) {
	addrs := testenv.RedisCluster(t)
	const channel = "sigil:events"
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = cluster.Close() })
	sub := runFeed(t, redisstore.NewFeed(cluster, channel, nil))
	receive(t, sub.subscribed, "subscription")

	// The subscription lives on one master; publish on another, so the
	// message has to cross the cluster bus.
	numsub := func(addr string) int64 {
		n, err := newClient(t, addr).PubSubNumSub(t.Context(), channel).Result()
		if err != nil {
			t.Fatalf("PUBSUB NUMSUB on %s: %v", addr, err)
		}
		return n[channel]
	}
	var subAddr, pubAddr string
	for _, a := range addrs {
		if numsub(a) == 1 {
			subAddr = a
		} else if pubAddr == "" {
			pubAddr = a
		}
	}
	if subAddr == "" || pubAddr == "" {
		t.Fatalf("found the subscriber on %q and a master without it %q among %v", subAddr, pubAddr, addrs)
	}
	if numsub(pubAddr) != 0 {
		t.Fatalf("the publishing master %s has the subscriber too", pubAddr)
	}

	events := sampleEvents()
	publish(t, redisstore.NewFeed(newClient(t, pubAddr), channel, nil), events[0])
	sameEvent(t, receive(t, sub.events, "event published on another master"), events[0])

	// A node of the cluster publishing through its own cluster client.
	other := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = other.Close() })
	publish(t, redisstore.NewFeed(other, channel, nil), events[1])
	sameEvent(t, receive(t, sub.events, "event published through a cluster client"), events[1])

	// The master holding the subscription drops it: the feed subscribes
	// again, says so, and still receives.
	if n, err := newClient(t, subAddr).ClientKillByFilter(t.Context(), "TYPE", "pubsub").Result(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL TYPE pubsub on %s = %d, %v", subAddr, n, err)
	}
	receive(t, sub.subscribed, "subscription after the connection was killed")
	publish(t, redisstore.NewFeed(newClient(t, pubAddr), channel, nil), events[2])
	sameEvent(t, receive(t, sub.events, "event after resubscribing"), events[2])
}
