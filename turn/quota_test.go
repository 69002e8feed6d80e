package turn

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// allocateEach makes one allocation per step with a pion client from local and checks its
// outcome: "" for a relay, else an error naming want (486, 508). It returns the relays.
func allocateEach(t *testing.T, s *Server, local string, steps []quotaStep) []net.PacketConn {
	t.Helper()
	var relays []net.PacketConn
	for i, st := range steps {
		user, pass, _ := s.Credentials(st.user, time.Now())
		relay, err := dialClientFrom(t, s, st.tr, local, user, pass).allocate(t)
		switch {
		case st.want == "" && err != nil:
			t.Fatalf("step %d (%s over %s from %s): %v, want a relay", i, st.user, st.tr, local, err)
		case st.want != "" && err == nil:
			t.Fatalf("step %d (%s over %s from %s): got a relay, want %s", i, st.user, st.tr, local, st.want)
		case st.want != "" && !strings.Contains(err.Error(), st.want):
			t.Fatalf("step %d (%s over %s from %s): %v, want %s", i, st.user, st.tr, local, err, st.want)
		}
		if relay != nil {
			relays = append(relays, relay)
		}
	}
	return relays
}

type quotaStep struct {
	user string
	tr   transport
	want string // "" = allocated, else the error code expected
}

// One address with several accounts holds at most allocation_quota_per_ip allocations,
// each account at most allocation_quota_per_user (486 either way, counted by reason);
// a user from another address still gets a relay and relays data; a Refresh with
// lifetime 0 gives the address its slot back.
func TestAllocationQuotaPerIP(t *testing.T) {
	s := startServer(t, func(c *Config) {
		allowLoopbackPeers(c)
		c.AllocationQuotaPerUser, c.AllocationQuotaPerIP = 2, 3
	})
	held := allocateEach(t, s, "127.0.0.1", []quotaStep{
		{"mallory1", overUDP, ""}, {"mallory1", overTCP, ""},
		{"mallory1", overUDP, "486"}, // the user's quota
		{"mallory2", overUDP, ""},
		{"mallory2", overTCP, "486"}, // the address's quota
		{"mallory3", overUDP, "486"},
	})
	st := s.Stats()
	if st.Refusals[RefusedQuota] != 1 || st.Refusals[RefusedQuotaIP] != 2 || st.AllocationsActive != 3 {
		t.Fatalf("quota refusals %d, ip_quota refusals %d, active %d; want 1, 2, 3",
			st.Refusals[RefusedQuota], st.Refusals[RefusedQuotaIP], st.AllocationsActive)
	}

	relay := allocateEach(t, s, "127.0.0.2", []quotaStep{{"alice", overUDP, ""}})[0]
	roundTrip(t, relay, echoPeer(t), []byte("alice's media beside a full quota"))

	if err := held[0].Close(); err != nil { // pion's client sends Refresh with lifetime 0
		t.Fatal(err)
	}
	waitFor(t, "the refreshed-to-0 allocation released", func() bool { return s.Stats().AllocationsActive == 3 })
	allocateEach(t, s, "127.0.0.1", []quotaStep{{"mallory3", overUDP, ""}, {"mallory3", overUDP, "486"}})
}

// A client that vanishes without a Refresh loses its allocation at the end of its
// lifetime, and its user and address get their slots back.
func TestAllocationQuotaReleasedOnExpiry(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.AllocationQuotaPerUser, c.AllocationQuotaPerIP = 1, 1
	}, func(s *Server) { s.cfg.MaxAllocationLifetime = 4 * time.Second }) // pion's client refreshes every 2 s
	user, pass, _ := s.Credentials("ivan", time.Now())
	gone := dialClient(t, s, overUDP, user, pass)
	if _, err := gone.allocate(t); err != nil {
		t.Fatal(err)
	}
	allocateEach(t, s, "127.0.0.1", []quotaStep{{"ivan", overUDP, "486"}})
	_ = gone.conn.Close() // no more refreshes, no Refresh 0
	waitFor(t, "the allocation expired", func() bool { return s.Stats().AllocationsActive == 0 })
	allocateEach(t, s, "127.0.0.1", []quotaStep{{"ivan", overUDP, ""}})
}

// Allocate requests of one address on many TCP connections at once (pion serves each
// connection on its own goroutine) never hold more than the quota.
func TestAllocationQuotaPerIPIsExact(t *testing.T) {
	const quota, clients = 4, 16
	s := startServer(t, func(c *Config) { c.AllocationQuotaPerIP = quota })
	var cs []*turnClient
	for i := 0; i < clients; i++ {
		user, pass, _ := s.Credentials("user"+string(rune('a'+i)), time.Now())
		cs = append(cs, dialClient(t, s, overTCP, user, pass))
	}
	var mu sync.Mutex
	var relays []net.PacketConn
	var otherErrors int // neither a relay nor a refusal (a timeout on a loaded machine)
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			relay, err := c.Allocate()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				relays = append(relays, relay)
			case !strings.Contains(err.Error(), "486") && !strings.Contains(err.Error(), "508"):
				otherErrors++
			}
		}()
	}
	wg.Wait()
	for _, r := range relays {
		t.Cleanup(func() { _ = r.Close() })
	}
	if active := s.Stats().AllocationsActive; len(relays) > quota || active > quota || len(relays)+otherErrors < quota {
		t.Fatalf("%d relays (%d other errors), %d active; want %d relays", len(relays), otherErrors, active, quota)
	}
}

// When no port of the relay range is free the Allocate gets 508 Insufficient Capacity,
// counted as the capacity refusal; a released port serves the next one.
func TestRelayPortsExhausted(t *testing.T) {
	const lo, hi = 31170, 31172 // below Linux's ephemeral ports and the other tests' ranges
	s := startServer(t, func(c *Config) { c.RelayPortMin, c.RelayPortMax = lo, hi })
	user, pass, _ := s.Credentials("olga", time.Now())
	var relays []net.PacketConn
	var err error
	for i := 0; i <= hi-lo+1 && err == nil; i++ {
		var relay net.PacketConn
		if relay, err = dialClient(t, s, overUDP, user, pass).allocate(t); err == nil {
			relays = append(relays, relay)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "508") {
		t.Fatalf("allocation beyond %d ports: %v, want 508", hi-lo+1, err)
	}
	if n := s.Stats().Refusals[RefusedCapacity]; n != 1 {
		t.Errorf("capacity refusals %d, want 1", n)
	}
	if len(relays) == 0 {
		t.Fatal("no relay port of the range was free")
	}
	if err := relays[0].Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a port released", func() bool { return s.Stats().AllocationsActive == int64(len(relays)-1) })
	if _, err := dialClient(t, s, overUDP, user, pass).allocate(t); err != nil {
		t.Fatalf("allocation after a port was released: %v", err)
	}
}

func TestAllocationKey(t *testing.T) {
	for _, tc := range []struct {
		src          net.Addr
		user, bucket string
	}{
		{&net.UDPAddr{IP: net.ParseIP("198.51.100.7"), Port: 5000}, "alice", "198.51.100.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:198.51.100.7"), Port: 5000}, "a|b:c", "198.51.100.7"},
		{&net.UDPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6"), Port: 5000}, "bob", "2001:db8:1:2::/64"},
		{&net.UnixAddr{Name: "x"}, "carol", "?"},
	} {
		key := allocationKey(tc.src, tc.user)
		if bucket, user := splitAllocationKey(key); bucket != tc.bucket || user != tc.user {
			t.Errorf("allocationKey(%v, %q) = %q → (%q, %q), want (%q, %q)", tc.src, tc.user, key, bucket, user, tc.bucket, tc.user)
		}
	}
}
