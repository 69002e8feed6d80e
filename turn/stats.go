package turn

import (
	"sync/atomic"
)

// RefusalReason says why the server refused a request.
type RefusalReason int

// Refusal reasons, the label values of the refusal counter.
const (
	// RefusedMalformedUsername: the username is neither "<expiry>:<userId>" nor a static user.
	RefusedMalformedUsername RefusalReason = iota
	// RefusedExpired: the credential's expiry time has passed.
	RefusedExpired
	// RefusedBadCredentials: the message integrity did not match (wrong password or secret).
	RefusedBadCredentials
	// RefusedQuota: the userId already holds allocation_quota_per_user allocations (486).
	RefusedQuota
	// RefusedPeer: a permission, channel or connection towards a forbidden peer.
	RefusedPeer
	// RefusedRelayPacket: a packet to or from a port a server media address does not allow.
	RefusedRelayPacket
	// RefusedNoAllocation: a TCP or TLS client connection closed because it held no
	// allocation and sent nothing for 30 s (idleconns.go, D206).
	RefusedNoAllocation
	// RefusedQuotaIP: the clients of the request's address (IPv4, IPv6 /64) already hold
	// allocation_quota_per_ip allocations (486 Allocation Quota Reached, D246).
	RefusedQuotaIP
	// RefusedCapacity: no relay port of relay_port_min..relay_port_max could be bound
	// (508 Insufficient Capacity, D245).
	RefusedCapacity
	// RefusedPermissions: the allocation already holds permissions for
	// MaxPermissionsPerAllocation peers (403 Forbidden; pion answers a ChannelBind 401, D270).
	RefusedPermissions
	// RefusedPeerConns: a TCP allocation's Connect (447) or a peer's connection to its relay
	// (closed) beyond MaxPeerConnsPerAllocation, or MaxPeerConnsPerIP of its client's
	// address (D271).
	RefusedPeerConns
	// RefusedConnsIP: a TCP or TLS connection to the TURN listeners closed at accept because
	// the clients of its address hold max_conns_per_ip connections (D272).
	RefusedConnsIP
	// RefusedConns: the same, because all clients together hold max_conns (D272).
	RefusedConns
	// RefusedRequestRate: a STUN request to the UDP listener dropped unanswered because
	// its address had used requests_per_second_per_ip / requests_burst_per_ip (D316).
	RefusedRequestRate

	refusalReasonCount
)

var refusalReasonNames = [refusalReasonCount]string{
	"malformed_username", "expired", "bad_credentials", "quota", "peer_not_allowed", "relay_packet_not_allowed",
	"no_allocation", "ip_quota", "capacity", "permissions", "peer_connections",
	"ip_connections", "connections", "request_rate",
}

// String is the reason's metric label.
func (r RefusalReason) String() string {
	if r < 0 || r >= refusalReasonCount {
		return "unknown"
	}
	return refusalReasonNames[r]
}

// Stats is a snapshot of the TURN server's counters.
type Stats struct {
	// AllocationsActive is the number of allocations alive now.
	AllocationsActive int64
	// AllocationsTotal counts allocations made since start.
	AllocationsTotal uint64
	// RelayedBytesToPeers counts payload bytes the relay sent to peers.
	RelayedBytesToPeers uint64
	// RelayedBytesFromPeers counts payload bytes the relay received from allowed peers.
	RelayedBytesFromPeers uint64
	// Refusals counts refused requests by reason (every reason is present).
	Refusals map[RefusalReason]uint64
}

// counters are the live counters behind Stats; any goroutine updates them atomically.
type counters struct {
	allocationsActive atomic.Int64
	allocationsTotal  atomic.Uint64
	bytesToPeers      atomic.Uint64
	bytesFromPeers    atomic.Uint64
	refusals          [refusalReasonCount]atomic.Uint64
}

func (c *counters) snapshot() Stats {
	s := Stats{
		AllocationsActive:     c.allocationsActive.Load(),
		AllocationsTotal:      c.allocationsTotal.Load(),
		RelayedBytesToPeers:   c.bytesToPeers.Load(),
		RelayedBytesFromPeers: c.bytesFromPeers.Load(),
		Refusals:              make(map[RefusalReason]uint64, refusalReasonCount),
	}
	for r := RefusalReason(0); r < refusalReasonCount; r++ {
		s.Refusals[r] = c.refusals[r].Load()
	}
	return s
}
