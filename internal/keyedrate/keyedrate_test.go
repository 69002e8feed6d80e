package keyedrate

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestBucketsStayBounded: buckets that refilled are forgotten at the next sweep; with
// MaxKeys buckets in use, new keys share the overflow bucket.
func TestBucketsStayBounded(t *testing.T) {
	k := New[string](1, 2) // one token a second, burst 2
	t0 := time.Unix(1_700_000_000, 0)
	for i := range SweepAtLeast {
		k.Get(fmt.Sprint("a", i), t0, true).AllowN(t0, 1)
	}
	if k.Get("a0", t0, false) == nil || k.Get("absent", t0, false) != nil {
		t.Fatal("get without create")
	}
	if n := k.Len(); n != SweepAtLeast {
		t.Fatalf("%d buckets, want %d", n, SweepAtLeast)
	}
	// A second later every bucket is full again: the next new key sweeps them away.
	t1 := t0.Add(time.Second)
	k.Get("b", t1, true).AllowN(t1, 1)
	if n := k.Len(); n != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", n)
	}
	for i := range MaxKeys {
		k.Get(fmt.Sprint("c", i), t1, true).AllowN(t1, 1)
	}
	if n := k.Len(); n != MaxKeys {
		t.Fatalf("%d buckets, want the cap %d", n, MaxKeys)
	}
	if b := k.Get("one too many", t1, true); b != k.overflow {
		t.Fatal("a key beyond the cap got its own bucket")
	}
	if b := k.Get("looked up", t1, false); b != k.overflow {
		t.Fatal("a lookup beyond the cap does not see the overflow bucket")
	}
}

// TestMain: Buckets starts no goroutine, and goleak holds it to that.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
