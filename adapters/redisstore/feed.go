package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sigilauth/sigil/application"
	"github.com/sigilauth/sigil/domain"
)

// Feed carries events between nodes over a Redis Pub/Sub channel: the
// auth nodes publish revocations, key removals and client changes, and
// every node subscribes. Delivery is at most once; a subscriber that was
// away must catch up from storage (the deny list), which Run's
// onSubscribed is for.
//
// It uses classic PUBLISH and SUBSCRIBE, not the sharded SPUBLISH: in a
// Redis Cluster a classic message reaches the subscribers of every node,
// so publisher and subscriber need not be on the same one.
type Feed struct {
	client  redis.UniversalClient
	channel string
	logger  *slog.Logger
}

var _ application.EventPublisher = (*Feed)(nil)

// NewFeed returns a feed on channel (for example "sigil:events"). A nil
// logger discards the feed's log.
func NewFeed(client redis.UniversalClient, channel string, logger *slog.Logger) *Feed {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Feed{client: client, channel: channel, logger: logger}
}

// eventWire is an event on the channel: short names, empty fields left
// out, the expiry in Unix milliseconds.
type eventWire struct {
	Kind      string `json:"k"`
	JTI       string `json:"jti,omitempty"`
	KID       string `json:"kid,omitempty"`
	ClientID  string `json:"cid,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	// IssuedBefore is a client revocation's time in Unix milliseconds.
	IssuedBefore int64 `json:"ib,omitempty"`
}

func toEventWire(e domain.Event) eventWire {
	w := eventWire{Kind: string(e.Kind), JTI: e.JTI, KID: e.KID, ClientID: e.ClientID}
	if !e.ExpiresAt.IsZero() {
		w.ExpiresAt = e.ExpiresAt.UnixMilli()
	}
	if !e.IssuedBefore.IsZero() {
		w.IssuedBefore = e.IssuedBefore.UnixMilli()
	}
	return w
}

func (w eventWire) toDomain() (domain.Event, error) {
	e := domain.Event{Kind: domain.EventKind(w.Kind), JTI: w.JTI, KID: w.KID, ClientID: w.ClientID}
	if w.ExpiresAt != 0 {
		e.ExpiresAt = time.UnixMilli(w.ExpiresAt).UTC()
	}
	if w.IssuedBefore != 0 {
		e.IssuedBefore = time.UnixMilli(w.IssuedBefore).UTC()
	}
	// A kind this release does not know passes: the handlers ignore what
	// they do not handle, and a newer node may send more kinds.
	var missing string
	switch {
	case e.Kind == "":
		missing = "kind"
	case e.Kind == domain.EventRevoked && (e.JTI == "" || e.ExpiresAt.IsZero()):
		missing = "jti or expiry"
	case e.Kind == domain.EventKeyRemoved && e.KID == "":
		missing = "kid"
	case e.Kind == domain.EventClientChanged && e.ClientID == "":
		missing = "client id"
	case e.Kind == domain.EventClientTokensRevoked && (e.ClientID == "" || e.IssuedBefore.IsZero()):
		missing = "client id or revocation time"
	}
	if missing != "" {
		return domain.Event{}, fmt.Errorf("event without %s", missing)
	}
	return e, nil
}

// Publish implements application.EventPublisher.
func (f *Feed) Publish(ctx context.Context, e domain.Event) error {
	b, err := json.Marshal(toEventWire(e))
	if err != nil {
		return fmt.Errorf("publish event: encode: %w", err)
	}
	if err := f.client.Publish(ctx, f.channel, b).Err(); err != nil {
		return fmt.Errorf("publish event: %w", err)
	}
	return nil
}

// feedBuffer is how many messages wait while handle or onSubscribed runs.
const feedBuffer = 1024

// Run subscribes to the channel and calls handle for each event until ctx
// ends; a malformed message is logged and skipped. It calls onSubscribed
// each time the subscription is established: after the first SUBSCRIBE is
// confirmed and after every reconnect. Messages published while the
// subscriber was away are lost, so onSubscribed is where the caller
// catches up from storage; anything published after the subscription is
// confirmed arrives, so catching up then misses nothing.
//
// handle and onSubscribed are called from Run's goroutine, one at a time;
// while they run, messages wait in a buffer. Run returns once ctx has
// ended and the subscription is closed; no call follows its return.
//
// go-redis reconnects by itself after a network error, and its health
// check pings a silent connection every few seconds and reconnects if the
// ping fails; either way it sends SUBSCRIBE again, and the confirmation
// comes through as a *redis.Subscription, which is what calls
// onSubscribed (go-redis issue 1070).
func (f *Feed) Run(ctx context.Context, handle func(domain.Event), onSubscribed func(ctx context.Context)) {
	// A failed first SUBSCRIBE is no error here: go-redis keeps the
	// channel and subscribes when it next connects.
	pubsub := f.client.Subscribe(ctx, f.channel)
	messages := pubsub.ChannelWithSubscriptions(redis.WithChannelSize(feedBuffer))
	defer func() {
		if err := pubsub.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			f.logger.Warn("feed: close subscription", "channel", f.channel, "error", err)
		}
		// Let go-redis's receiving goroutine finish: it closes the Go
		// channel when it sees the subscription closed.
		for range messages {
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-messages:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" && m.Channel == f.channel {
					f.logger.Info("feed: subscribed", "channel", f.channel)
					onSubscribed(ctx)
				}
			case *redis.Message:
				var w eventWire
				err := json.Unmarshal([]byte(m.Payload), &w)
				var e domain.Event
				if err == nil {
					e, err = w.toDomain()
				}
				if err != nil {
					f.logger.Warn("feed: skipped a malformed message", "channel", f.channel, "bytes", len(m.Payload), "error", err)
					continue
				}
				handle(e)
			}
		}
	}
}
