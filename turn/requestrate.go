package turn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"

	"golang.org/x/time/rate"

	"github.com/parley-rtc/parley/internal/keyedrate"
)

// stunMagicCookie is the fixed word at bytes 4..7 of every STUN message (RFC 5389 §6).
const stunMagicCookie = 0x2112A442

// requestLimiter bounds the STUN requests that each client address (an IPv4 address, an
// IPv6 /64) sends: turn.requests_per_second_per_ip refills its bucket,
// turn.requests_burst_per_ip holds (D316), over the UDP listener and every TCP/TLS
// connection of the address together (D332). Indications and ChannelData (a client's
// relayed data) are never counted. pion answers every request (an unauthenticated Allocate
// with a 401 and a fresh nonce, an authenticated one after an HMAC of the credential), so
// a request over the limit is dropped before pion parses it: silently, as a lost datagram
// the client retransmits over UDP, or skipped whole in a stream (streamLimitedConn). Used
// by the UDP read goroutine and the connections' goroutines (the buckets have their own
// lock).
type requestLimiter struct {
	buckets *keyedrate.Buckets[netip.Prefix]
}

func newRequestLimiter(perSecond, burst int) *requestLimiter {
	return &requestLimiter{buckets: keyedrate.New[netip.Prefix](rate.Limit(perSecond), burst)}
}

// allow reports whether datagram b from src may reach pion.
func (l *requestLimiter) allow(b []byte, src net.Addr, now time.Time) bool {
	if !isSTUNRequest(b) {
		return true
	}
	key, ok := requestKey(src)
	if !ok {
		return true
	}
	return l.allowKey(key, now)
}

// allowKey takes a token of key's bucket, if it has one.
func (l *requestLimiter) allowKey(key netip.Prefix, now time.Time) bool {
	return l.buckets.Get(key, now, true).AllowN(now, 1)
}

// isSTUNRequest reports whether pion handles b as a STUN request: b is not ChannelData by
// pion's test (a channel number 0x4000..0x7FFF and a length that fits), carries the magic
// cookie, and both class bits of its message type (C1 at 0x0100, C0 at 0x0010) are zero
// (RFC 5389 §6). pion ignores the type's two top bits, so this does too: a request with
// them set is still a request to pion. Indications and answers have a class bit set.
func isSTUNRequest(b []byte) bool {
	if len(b) < 20 || binary.BigEndian.Uint32(b[4:8]) != stunMagicCookie {
		return false
	}
	if ch := binary.BigEndian.Uint16(b[0:2]); ch >= 0x4000 && ch <= 0x7FFF && int(binary.BigEndian.Uint16(b[2:4])) <= len(b)-4 {
		return false // pion reads it as ChannelData
	}
	return binary.BigEndian.Uint16(b[0:2])&0x0110 == 0
}

// requestKey is src's bucket: its IPv4 address, or the /64 of its IPv6 one (as
// clientBucket counts allocation_quota_per_ip), without allocating.
func requestKey(src net.Addr) (netip.Prefix, bool) {
	ap, ok := addrPortOf(src)
	if !ok {
		return netip.Prefix{}, false
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32), true
	}
	return netip.PrefixFrom(ip, 64).Masked(), true
}

// requestRateLogKey is the throttle key of the request_rate refusals' log line.
const requestRateLogKey = "refusal:request_rate"
