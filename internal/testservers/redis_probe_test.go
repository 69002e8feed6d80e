package testservers

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisCleanupOutlastsTheDialProbe: a go-redis client whose Redis went away starts
// its dial probe (redisProbeFunc), which outlives the client's Close by up to a second;
// the Redis cleanup waits for it, so the test leaves no go-redis goroutine behind (goleak
// in TestMain once found one after the cluster tests of signaling).
func TestRedisCleanupOutlastsTheDialProbe(t *testing.T) {
	t.Run("client", func(t *testing.T) {
		r := RunRedis(t)
		rdb := redis.NewClient(&redis.Options{Addr: r.Addr, PoolSize: 1, DialerRetries: 1, DialTimeout: time.Second})
		t.Cleanup(func() { _ = rdb.Close() }) // before the Redis cleanup (last in, first out)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rdb.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		r.Stop()
		for !redisProbing() {
			_ = rdb.Ping(ctx).Err() // a failed dial; PoolSize of them start the probe
			if ctx.Err() != nil {
				t.Fatal("go-redis started no dial probe")
			}
		}
	})
	if redisProbing() {
		t.Fatal("go-redis's dial probe outlived the test's Redis cleanup")
	}
}
