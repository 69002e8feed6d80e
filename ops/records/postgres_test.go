package records_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/ops/pgrecords"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// What only the postgres driver has: nodes sharing one database.

// TestPostgresNodesShareOneDatabase: several nodes opening an empty database together all
// start (the schema is made once, under a lock), and a record one adds is read by another.
func TestPostgresNodesShareOneDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := testservers.StartPostgres(t)
	const nodes = 4
	stores := make([]*pgrecords.Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = pgrecords.Open(ctx, dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	if err := stores[0].Add(ctx, []protocol.CallRecord{rec("c1", "alice", 1000, protocol.CallResultOutgoing)}); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		got, err := s.Query(ctx, appA, "alice", signaling.RecordQuery{})
		if err != nil || len(got) != 1 || got[0].CallID != "c1" {
			t.Fatalf("node %d reads %+v %v", i, got, err)
		}
	}
}

// TestPostgresUnreachable: Open on a port where nothing listens fails within its context
// with an error naming the server and not the password.
func TestPostgresUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := pgrecords.Open(ctx, "postgres://parley:pw-not-shown@127.0.0.1:1/parley?sslmode=disable&connect_timeout=5")
	if err == nil {
		_ = s.Close()
		t.Fatal("opened a store on 127.0.0.1:1")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1/parley") || strings.Contains(err.Error(), "pw-not-shown") {
		t.Fatalf("error %q: want the server named and no password", err)
	}
}
