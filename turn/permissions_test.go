package turn

import (
	"net"
	"strings"
	"testing"
	"time"
)

// publicPeers are n public IPv4 peers from first on: a permission sends nothing to its
// peer, so none of them is ever reached.
func publicPeers(first, n int) []net.Addr {
	peers := make([]net.Addr, n)
	for i := range peers {
		v := 8<<24 + first + i
		peers[i] = &net.UDPAddr{IP: net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)), Port: 9}
	}
	return peers
}

type permissionCreator interface {
	CreatePermissions(addrs ...net.Addr) error
}

// One allocation holds permissions for at most MaxPermissionsPerAllocation peers (D270):
// the next new peer is refused with 403 and counted, the held ones are refreshed, another
// allocation of the same address still gets its permissions and relays, and a closed
// allocation leaves nothing behind.
func TestPermissionsPerAllocation(t *testing.T) {
	for _, tr := range []transport{overUDP, overTCP} {
		t.Run(string(tr), func(t *testing.T) {
			s := startServer(t, allowLoopbackPeers)
			user, pass, _ := s.Credentials("mallory", time.Now())
			greedy := dialClient(t, s, tr, user, pass)
			relay, err := greedy.allocate(t)
			if err != nil {
				t.Fatal(err)
			}
			perm := relay.(permissionCreator)
			held := publicPeers(1, MaxPermissionsPerAllocation)
			if err := perm.CreatePermissions(held...); err != nil {
				t.Fatalf("%d permissions in one request: %v", len(held), err)
			}
			for i, more := range [][]net.Addr{publicPeers(1000, 1), publicPeers(2000, 100)} {
				err := perm.CreatePermissions(more...)
				if err == nil || !strings.Contains(err.Error(), "403") {
					t.Fatalf("request %d beyond the cap (%d new peers): %v, want 403", i, len(more), err)
				}
			}
			if got := s.Stats().Refusals[RefusedPermissions]; got != 2 {
				t.Fatalf("permissions refusals %d, want 2", got)
			}
			if err := perm.CreatePermissions(held...); err != nil {
				t.Fatalf("refreshing the %d held permissions: %v", len(held), err)
			}
			if got := s.permissions.held(greedy.conn.LocalAddr()); got != MaxPermissionsPerAllocation {
				t.Fatalf("the greedy allocation holds %d permissions, want %d", got, MaxPermissionsPerAllocation)
			}

			other, err := dialClient(t, s, tr, user, pass).allocate(t)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, other, echoPeer(t), []byte("media beside a full allocation"))

			if err := relay.Close(); err != nil { // pion's client sends Refresh with lifetime 0
				t.Fatal(err)
			}
			waitFor(t, "the closed allocation's permissions forgotten", func() bool {
				return s.permissions.held(greedy.conn.LocalAddr()) == 0 && s.permissions.allocations() == 1
			})
		})
	}
}

func TestPermissionCount(t *testing.T) {
	p := newPermissionCount(2)
	a := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	sameOverTCP := &net.TCPAddr{IP: a.IP, Port: a.Port}
	peer := func(i int) net.IP { return net.IPv4(8, 0, 0, byte(i)) }
	allow := func(c net.Addr, i int) bool { ip, _ := peerAddr(peer(i)); return p.allow(c, ip) }
	p.created(a, peer(1))
	p.created(a, peer(2).To16()) // IPv4-mapped: the same key as the IPv4 form
	p.created(a, peer(2))
	for _, tc := range []struct {
		client net.Addr
		peer   int
		want   bool
	}{
		{a, 1, true}, {a, 2, true}, {a, 3, false}, {sameOverTCP, 3, true},
	} {
		if got := allow(tc.client, tc.peer); got != tc.want {
			t.Errorf("allow(%s %s, peer %d) = %v, want %v", tc.client.Network(), tc.client, tc.peer, got, tc.want)
		}
	}
	p.deleted(a, peer(1))
	if !allow(a, 3) || p.held(a) != 1 {
		t.Fatalf("after a deletion: allow %v, held %d; want true, 1", allow(a, 3), p.held(a))
	}
	p.allocationDeleted(a)
	if p.allocations() != 0 {
		t.Fatalf("%d allocations left after allocationDeleted", p.allocations())
	}
}
