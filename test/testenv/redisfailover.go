package testenv

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// ClusterNode is one server of a Redis Cluster that a test started.
type ClusterNode struct {
	Addr string
	// Kill ends the server at once, as a crash would; it waits for the
	// process to exit and may be called more than once.
	Kill func()
}

// failoverNodeTimeout is the cluster-node-timeout of a cluster with
// replicas: how long a master may be silent before its replica takes
// over. Redis's default of 15s would make a failover test slow.
const failoverNodeTimeout = "1000"

// RedisClusterWithReplicas starts a Redis Cluster of three masters, each
// with one replica that takes over within a few seconds of its master's
// death, and returns the masters and the replicas once every node reports
// cluster_state:ok and every replica is in sync. The servers are killed
// when the test ends.
func RedisClusterWithReplicas(t testing.TB) (masters, replicas []ClusterNode) {
	t.Helper()
	server, cli := lookPath(t, "redis-server"), lookPath(t, "redis-cli")
	dir := t.TempDir()
	var (
		procs = make([]*redisProcess, 6)
		errs  = make([]error, 6)
		wg    sync.WaitGroup
	)
	for i := range procs {
		wg.Go(func() { procs[i], errs[i] = launchRedis(server, dir, true, false) })
	}
	wg.Wait()
	for _, p := range procs {
		if p != nil {
			t.Cleanup(p.stop)
		}
	}
	for _, err := range errs {
		if err != nil {
			t.Fatalf("testenv: start a Redis Cluster node: %v", err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*startTimeout)
	defer cancel()
	args := []string{"--cluster", "create"}
	for _, p := range procs {
		// Set at run time, so the servers start as every other test's do.
		if err := p.client.ConfigSet(ctx, "cluster-node-timeout", failoverNodeTimeout).Err(); err != nil {
			t.Fatalf("testenv: set cluster-node-timeout on %s: %v", p.addr, err)
		}
		args = append(args, p.addr)
	}
	// redis-cli makes the first three masters and gives each one replica.
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}

	for _, p := range procs {
		for {
			ready := false
			info, err := p.client.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				role, rerr := p.client.Info(ctx, "replication").Result()
				// A replica counts once it has the master's data.
				ready = rerr == nil && (strings.Contains(role, "role:master") || strings.Contains(role, "master_link_status:up"))
			}
			if ready {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("testenv: Redis Cluster node %s not ready: %v\n%s", p.addr, err, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Roles as the cluster sees them: redis-cli may pair nodes in another
	// order than given.
	for _, p := range procs {
		role, err := p.client.Info(ctx, "replication").Result()
		if err != nil {
			t.Fatalf("testenv: role of %s: %v", p.addr, err)
		}
		n := ClusterNode{Addr: p.addr, Kill: p.stop}
		if strings.Contains(role, "role:master") {
			masters = append(masters, n)
		} else {
			replicas = append(replicas, n)
		}
	}
	if len(masters) != 3 || len(replicas) != 3 {
		t.Fatalf("testenv: cluster has %d masters and %d replicas, want 3 and 3", len(masters), len(replicas))
	}
	return masters, replicas
}
