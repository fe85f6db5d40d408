package testenv

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestWithDSNParam(t *testing.T) {
	cases := []struct{ dsn, want string }{
		{"host=db user=postgres", "host=db user=postgres search_path=s1"},
		{"host=db search_path=mine", "host=db search_path=mine"},
		{"postgres://u@db/test", "postgres://u@db/test?search_path=s1"},
		{"postgres://u@db/test?sslmode=disable", "postgres://u@db/test?sslmode=disable&search_path=s1"},
		{"postgresql://u@db/test?search_path=mine", "postgresql://u@db/test?search_path=mine"},
	}
	for _, c := range cases {
		if got := withDSNParam(c.dsn, "search_path", "s1"); got != c.want {
			t.Errorf("withDSNParam(%q) = %q, want %q", c.dsn, got, c.want)
		}
	}
}

func TestPostgresGivesEachTestASchemaDroppedAfterIt(t *testing.T) {
	var schemas []string
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			dsn := PostgresDSN(t)
			schemas = append(schemas, dsn[strings.LastIndex(dsn, "search_path=")+len("search_path="):])
			db := openPostgres(t, dsn)
			defer closeDB(db)
			var current string
			if err := db.Raw("SELECT current_schema()").Row().Scan(&current); err != nil {
				t.Fatal(err)
			}
			if current != schemas[len(schemas)-1] {
				t.Errorf("current_schema() = %q, want the test's own %q", current, schemas[len(schemas)-1])
			}
		})
	}
	if len(schemas) != 2 || schemas[0] == schemas[1] {
		t.Fatalf("schemas = %v, want two different ones", schemas)
	}
	admin := openPostgres(t, baseDSN())
	defer closeDB(admin)
	var left int64
	if err := admin.Raw("SELECT count(*) FROM information_schema.schemata WHERE schema_name IN ?", schemas).Row().Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d test schemas left after their tests ended", left)
	}
}

func TestRedisKeysAreDeletedAfterTheTest(t *testing.T) {
	var prefix string
	t.Run("inner", func(t *testing.T) {
		client, p := Redis(t)
		prefix = p
		for _, k := range []string{"a", "b", "c"} {
			if err := client.Set(t.Context(), p+k, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	client, other := Redis(t)
	if other == prefix {
		t.Errorf("two tests got the same prefix %q", prefix)
	}
	var cursor uint64
	for {
		keys, next, err := client.Scan(t.Context(), cursor, prefix+"*", 1000).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 0 {
			t.Errorf("keys left under %s after its test ended: %v", prefix, keys)
		}
		if next == 0 {
			break
		}
		cursor = next
	}
}

// unreachable reports whether nothing answers at addr.
func unreachable(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	conn.Close()
	return false
}

func TestRedisServerStopsWhenAskedAndWhenTheTestEnds(t *testing.T) {
	var kept string
	t.Run("inner", func(t *testing.T) {
		addr, stop := RedisServer(t)
		client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
		defer client.Close()
		if err := client.Ping(t.Context()).Err(); err != nil {
			t.Fatalf("PING %s: %v", addr, err)
		}
		stop()
		if err := client.Ping(t.Context()).Err(); err == nil {
			t.Errorf("PING %s succeeded after stop", addr)
		}
		stop() // a second stop is harmless

		kept, _ = RedisServer(t)
	})
	if !unreachable(kept) {
		t.Errorf("redis-server at %s still answers after its test ended", kept)
	}
}

func TestRedisClusterHasThreeMastersSharingTheSlots(t *testing.T) {
	var addrs []string
	t.Run("inner", func(t *testing.T) {
		addrs = RedisCluster(t)
		if len(addrs) != 3 {
			t.Fatalf("RedisCluster returned %d addresses, want 3", len(addrs))
		}
		client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		defer client.Close()
		for i := range 60 {
			if err := client.Set(t.Context(), fmt.Sprintf("key-%d", i), "v", 0).Err(); err != nil {
				t.Fatalf("SET through the cluster: %v", err)
			}
		}
		var masters atomic.Int32
		err := client.ForEachMaster(t.Context(), func(ctx context.Context, node *redis.Client) error {
			n, err := node.DBSize(ctx).Result()
			if err != nil {
				return err
			}
			if n == 0 {
				t.Errorf("master %s holds none of 60 keys: the slots are not shared", node.Options().Addr)
			}
			masters.Add(1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := masters.Load(); n != 3 {
			t.Errorf("the cluster has %d masters, want 3", n)
		}
	})
	for _, addr := range addrs {
		if !unreachable(addr) {
			t.Errorf("cluster node %s still answers after its test ended", addr)
		}
	}
}
