package cluster

import (
	"testing"

	"go.uber.org/goleak"
)

// redisProbe is go-redis's dial probe: after PoolSize failed dials (Redis stopped) the
// pool starts it; it sleeps 1 s between probes and returns at the first probe after the
// client closed, which may be after the test's end.
var redisProbe = goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, redisProbe)
}
