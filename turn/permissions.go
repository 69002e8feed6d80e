package turn

import (
	"net"
	"net/netip"
	"sync"
)

// MaxPermissionsPerAllocation is how many peer IPs one allocation may hold permissions
// (and so channels and TCP connections) for at once (D270). pion keeps every permission
// in a map with a timer of its own for 5 minutes, refreshable, and set no bound: one
// allocation over UDP created 200,000 in 1.2 s (100 XOR-PEER-ADDRESSes per request),
// +78 MB of heap. A WebRTC client asks for a permission per remote candidate IP it
// pairs with its relay candidate, a handful towards an SFU; 64 leaves room for a peer
// with many interfaces and both address families and bounds an allocation to ~25 KB.
const MaxPermissionsPerAllocation = 64

// permissionCount keeps, per allocation (its client's transport address), the peer IPs
// pion holds a permission for, from pion's permission events, so the permission handler
// refuses a new peer beyond max while an existing one is refreshed. pion serves the
// requests of one client address in one read loop, so a check and the event of the
// permission it allowed happen in order. Any goroutine may use it.
type permissionCount struct {
	max     int
	mu      sync.Mutex
	clients map[string]map[netip.Addr]struct{}
}

func newPermissionCount(maxPeers int) *permissionCount {
	return &permissionCount{max: maxPeers, clients: map[string]map[netip.Addr]struct{}{}}
}

// permissionClient keys an allocation by its client's transport address: pion gives the
// permission handler and the events the same address of the 5-tuple.
func permissionClient(src net.Addr) string {
	return src.Network() + " " + src.String()
}

// peerAddr is pion's key of a permission, the peer's IP (IPv4-mapped IPv6 as IPv4).
func peerAddr(ip net.IP) (netip.Addr, bool) {
	a, ok := netip.AddrFromSlice(ip)
	return a.Unmap(), ok
}

// allow reports whether client may hold a permission for peer: it holds one already (a
// refresh) or fewer than max.
func (p *permissionCount) allow(client net.Addr, peer netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	peers := p.clients[permissionClient(client)]
	if _, held := peers[peer]; held {
		return true
	}
	return len(peers) < p.max
}

// created is pion's OnPermissionCreated.
func (p *permissionCount) created(src net.Addr, peer net.IP) {
	p.update(src, peer, func(key string, peers map[netip.Addr]struct{}, a netip.Addr) {
		if peers == nil {
			peers = map[netip.Addr]struct{}{}
			p.clients[key] = peers
		}
		peers[a] = struct{}{}
	})
}

// deleted is pion's OnPermissionDeleted (expiry, and every permission when its allocation
// closes).
func (p *permissionCount) deleted(src net.Addr, peer net.IP) {
	p.update(src, peer, func(key string, peers map[netip.Addr]struct{}, a netip.Addr) {
		delete(peers, a)
		if len(peers) == 0 {
			delete(p.clients, key)
		}
	})
}

// update runs change on src's peers (nil when it holds none) under p.mu.
func (p *permissionCount) update(src net.Addr, peer net.IP, change func(key string, peers map[netip.Addr]struct{}, a netip.Addr)) {
	a, ok := peerAddr(peer)
	if !ok {
		return
	}
	key := permissionClient(src)
	p.mu.Lock()
	defer p.mu.Unlock()
	change(key, p.clients[key], a)
}

// allocationDeleted is pion's OnAllocationDeleted: nothing of the allocation is left.
func (p *permissionCount) allocationDeleted(src net.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.clients, permissionClient(src))
}

// held is the number of permissions client holds (tests).
func (p *permissionCount) held(client net.Addr) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.clients[permissionClient(client)])
}

// allocations is the number of allocations holding a permission (tests).
func (p *permissionCount) allocations() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.clients)
}
