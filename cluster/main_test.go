package cluster

import (
	"testing"

	"go.uber.org/goleak"
)

// go-redis's dial probe, which outlives a client's Close by up to a second, is waited for
// by the Redis cleanup of internal/testservers (waitRedisProbes).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
