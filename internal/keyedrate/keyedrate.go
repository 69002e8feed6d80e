// Package keyedrate is one token bucket (golang.org/x/time/rate) per key, made on first
// use and bounded in number: signaling's per-IP and per-user limits (D182, D193) and the
// TURN server's per-address request limit (D316) share it.
//
// Ownership: a Buckets is safe for concurrent use (its mu guards the map); the
// *rate.Limiter it returns is safe for concurrent use on its own.
package keyedrate

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Bounds of Buckets: a sweep forgets the full buckets once the map holds SweepAtLeast keys
// (or twice as many as after the last sweep); beyond MaxKeys live buckets new keys share
// one overflow bucket.
const (
	SweepAtLeast = 1024
	MaxKeys      = 100_000
)

// Buckets is one token bucket per key, made on first use. A bucket that has refilled
// completely equals a new one, so sweeps forget those and memory follows the keys that
// were limited recently.
type Buckets[K comparable] struct {
	limit rate.Limit
	burst int

	mu       sync.Mutex
	buckets  map[K]*rate.Limiter
	sweepAt  int
	overflow *rate.Limiter
}

// New returns buckets that refill at limit tokens a second and hold at most burst.
func New[K comparable](limit rate.Limit, burst int) *Buckets[K] {
	return &Buckets[K]{
		limit: limit, burst: burst,
		buckets:  make(map[K]*rate.Limiter),
		sweepAt:  SweepAtLeast,
		overflow: rate.NewLimiter(limit, burst),
	}
}

// Get returns key's bucket (the overflow bucket when the map is full); without create,
// nil when key has none.
func (k *Buckets[K]) Get(key K, now time.Time, create bool) *rate.Limiter {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.buckets[key]; ok {
		return b
	}
	if !create {
		if len(k.buckets) >= MaxKeys {
			return k.overflow
		}
		return nil
	}
	if len(k.buckets) >= k.sweepAt {
		for key, b := range k.buckets {
			if b.TokensAt(now) >= float64(k.burst) {
				delete(k.buckets, key)
			}
		}
		k.sweepAt = max(SweepAtLeast, 2*len(k.buckets))
	}
	if len(k.buckets) >= MaxKeys {
		return k.overflow
	}
	b := rate.NewLimiter(k.limit, k.burst)
	k.buckets[key] = b
	return b
}

// Len is the number of keys with a bucket.
func (k *Buckets[K]) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
