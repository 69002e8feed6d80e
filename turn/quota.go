package turn

import (
	"net"
	"net/netip"
	"strings"
	"sync"
)

// allocationKey is the user ID the server hands pion for a request (authenticate): the
// client's address bucket and the credential's userId, "<bucket>|<userId>". pion keeps it
// with the allocation and passes it to the quota handler and the relay generator, so both
// quotas are taken and given back with the relay socket, exactly, even when one address
// sends Allocate requests on many connections at once. A bucket never contains '|'; a
// userId may. The 5-tuple of an allocation is fixed, so every later request of it (Refresh,
// CreatePermission, ChannelBind) carries the same key; an RFC 6062 ConnectionBind must come
// from the same address bucket as its control connection.
func allocationKey(src net.Addr, userID string) string {
	return clientBucket(src) + "|" + userID
}

// splitAllocationKey undoes allocationKey.
func splitAllocationKey(key string) (bucket, userID string) {
	bucket, userID, _ = strings.Cut(key, "|")
	return bucket, userID
}

// clientBucket is the per-IP quota's unit: an IPv4 address, or the /64 of an IPv6 one
// (one subscriber's whole prefix, as signaling's per-IP limits count it). "?" for an
// address that is not IP:port.
func clientBucket(src net.Addr) string {
	ap, ok := addrPortOf(src)
	if !ok {
		return "?"
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}

// allocationQuota counts live allocations per userId (allocation_quota_per_user) and per
// client address bucket (allocation_quota_per_ip, 0 = none). Any goroutine may use it.
type allocationQuota struct {
	perUser, perIP int
	mu             sync.Mutex
	users          map[string]int
	ips            map[string]int
}

func newAllocationQuota(perUser, perIP int) *allocationQuota {
	return &allocationQuota{perUser: perUser, perIP: perIP, users: map[string]int{}, ips: map[string]int{}}
}

// check reports which quota, if any, one more allocation of key would exceed (advisory:
// acquire decides).
func (q *allocationQuota) check(key string) (RefusalReason, bool) {
	bucket, user := splitAllocationKey(key)
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.checkLocked(bucket, user)
}

func (q *allocationQuota) checkLocked(bucket, user string) (RefusalReason, bool) {
	if q.users[user] >= q.perUser {
		return RefusedQuota, false
	}
	if q.perIP > 0 && q.ips[bucket] >= q.perIP {
		return RefusedQuotaIP, false
	}
	return 0, true
}

// acquire takes one slot of key's user and bucket, or reports the quota that is used up.
func (q *allocationQuota) acquire(key string) (RefusalReason, bool) {
	bucket, user := splitAllocationKey(key)
	q.mu.Lock()
	defer q.mu.Unlock()
	if reason, ok := q.checkLocked(bucket, user); !ok {
		return reason, false
	}
	q.users[user]++
	q.ips[bucket]++
	return 0, true
}

// release gives back the slots acquire took for key.
func (q *allocationQuota) release(key string) {
	bucket, user := splitAllocationKey(key)
	q.mu.Lock()
	defer q.mu.Unlock()
	decrement(q.users, user)
	decrement(q.ips, bucket)
}

func decrement(m map[string]int, k string) {
	if m[k] <= 1 {
		delete(m, k)
		return
	}
	m[k]--
}
