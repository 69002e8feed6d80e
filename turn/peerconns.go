package turn

import (
	"net"
	"sync"
)

// The TCP connections with peers that RFC 6062 allocations hold (D271): one for each
// Connect request the server dials and each connection a peer opens to a relay listener,
// a descriptor each, pending for 30 s until the client binds it and then for as long as
// the data connection lives. pion bounds them by nothing but the distinct peer addresses
// (IP and port) of an allocation: one account's ten TCP allocations dialled 5,000 in
// 1.5 s towards 500 ports of one peer, and 20,000 would take every descriptor of a process
// limited to 20,000.
const (
	// MaxPeerConnsPerAllocation bounds the peer connections of one TCP allocation. An RFC
	// 6062 client opens one per peer it talks to (towards Parley, the ICE-TCP media port).
	MaxPeerConnsPerAllocation = 32
	// MaxPeerConnsPerIP bounds the peer connections of the allocations of one client
	// address (IPv4, IPv6 /64; the unit of allocation_quota_per_ip), whatever their users.
	MaxPeerConnsPerIP = 1024
)

// newPeerConnCount counts live peer connections per allocation and per client address
// bucket with an allocationQuota keyed by peerConnKey: its "user" is the allocation.
func newPeerConnCount() *allocationQuota {
	return newAllocationQuota(MaxPeerConnsPerAllocation, MaxPeerConnsPerIP)
}

// peerConnKey is the peerConnCount key of a connection of the allocation whose relay
// address is relay and whose allocationKey is key: its client's address bucket and the
// relay address, which is the allocation's own.
func peerConnKey(relay net.Addr, key string) string {
	bucket, _ := splitAllocationKey(key)
	return bucket + "|" + relay.String()
}

// countedConn is a peer connection holding a slot of peerConnCount until it is closed.
type countedConn struct {
	relayedConn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.relayedConn.Close()
	c.once.Do(c.release)
	return err
}
