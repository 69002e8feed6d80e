package turn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// streamFrameHead is the most of a frame streamLimitedConn looks at: a STUN header.
const streamFrameHead = 20

// streamReadSize is what streamLimitedConn reads at once while it looks for a frame
// (pion's own read buffer, its inbound MTU): a flood of small requests is skipped at one
// read per 1600 bytes, not one per request.
const streamReadSize = 1600

// streamFrame reads the frame at the start of b, the bytes of a TURN TCP/TLS stream read so
// far from a frame boundary, as pion's STUNConn frames the stream: b holds at least 9
// bytes; with 20 or more and the magic cookie it is a STUN message of 20 + its length;
// else with a channel number (0x4000..0x7FFF) ChannelData of 4 + its length padded to 4;
// else, with fewer than 20 bytes, more are needed, and with 20 the stream is not TURN.
// request is whether pion handles the frame as a STUN request (isSTUNRequest of its
// header, which needs only the header: a channel number in the first word is ChannelData
// to pion's handler whatever the rest). more: read more first; bad: not a frame (pion
// ends the connection on it).
func streamFrame(b []byte) (size int, request, more, bad bool) {
	if len(b) < 9 {
		return 0, false, true, false
	}
	first, length := binary.BigEndian.Uint16(b[0:2]), int(binary.BigEndian.Uint16(b[2:4]))
	cookie := binary.BigEndian.Uint32(b[4:8]) == stunMagicCookie
	channel := first >= 0x4000 && first <= 0x7FFF
	switch {
	case len(b) >= streamFrameHead && cookie:
		return streamFrameHead + length, !channel && first&0x0110 == 0, false, false
	case cookie && channel:
		// ChannelData to pion with these bytes, a STUN message with 20: wait for 20 so that
		// the frame is the one pion reads once it holds them (pion reads up to its MTU at
		// once). Only a ChannelData frame of under 16 bytes of data whose data starts
		// with the magic cookie can wait here for the next frame's bytes.
		return 0, false, true, false
	case channel:
		return 4 + (length+3)&^3, false, false, false
	case len(b) < streamFrameHead:
		return 0, false, true, false
	default:
		return 0, false, false, true
	}
}

// streamLimitedConn is a client TCP or TLS connection (TLS: after the handshake, the
// plain stream) whose STUN requests take tokens of its address's bucket of
// turn.requests_per_second_per_ip, the buckets of the UDP listener (D332). pion reads it
// through its STUNConn, which cuts the stream into frames; this cuts it the same way
// (streamFrame) and hands pion every frame but the requests without a token, each dropped
// whole: pion's framing stays aligned. Relayed data (ChannelData, Send indications) passes
// without a token. Once pion answers a ConnectionBind with success (RFC 6062: the
// connection is now a TCP allocation's data connection, raw bytes to and from the peer;
// Write sees the answer), everything passes. pion reads the connection on its read
// goroutine and, after a ConnectionBind, on a copy goroutine too: mu serializes Read.
type streamLimitedConn struct {
	net.Conn
	limiter *requestLimiter
	key     netip.Prefix
	refused func(src net.Addr)
	now     func() time.Time
	bound   atomic.Bool // pion bound the connection to a peer's (ConnectionBind success)

	mu       sync.Mutex
	buf      [streamReadSize]byte // buf[off:end]: read from a frame's start, not yet handed on
	off, end int
	pass     int  // bytes of the current frame still to hand on
	skip     int  // bytes of the current dropped frame still to discard
	raw      bool // not TURN framing: everything passes (pion ends the connection)
}

// stunConnectionBindSuccess is the message type of a ConnectionBind success answer.
const stunConnectionBindSuccess = 0x010B

// Write notes a ConnectionBind success answer (pion writes each message whole).
func (c *streamLimitedConn) Write(p []byte) (int, error) {
	if len(p) >= streamFrameHead && binary.BigEndian.Uint16(p[0:2]) == stunConnectionBindSuccess &&
		binary.BigEndian.Uint32(p[4:8]) == stunMagicCookie {
		c.bound.Store(true)
	}
	return c.Conn.Write(p)
}

// limitStream wraps conn when l limits requests and conn's address has a bucket key.
func limitStream(conn net.Conn, l *requestLimiter, now func() time.Time, refused func(net.Addr)) net.Conn {
	if l == nil {
		return conn
	}
	key, ok := requestKey(conn.RemoteAddr())
	if !ok {
		return conn
	}
	return &streamLimitedConn{Conn: conn, limiter: l, key: key, refused: refused, now: now}
}

func (c *streamLimitedConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bound.Load() && !c.raw {
		c.raw, c.pass, c.skip = true, 0, 0
	}
	for {
		switch {
		case c.raw || c.pass > 0:
			want := len(p)
			if !c.raw {
				want = min(want, c.pass)
			}
			var n int
			var err error
			if c.off < c.end {
				n = copy(p[:want], c.buf[c.off:c.end])
				c.consume(n)
			} else {
				n, err = c.Conn.Read(p[:want])
			}
			if !c.raw {
				c.pass -= n
			}
			return n, err
		case c.skip > 0:
			if c.off < c.end {
				d := min(c.skip, c.end-c.off)
				c.consume(d)
				c.skip -= d
				continue
			}
			n, err := c.Conn.Read(p[:min(len(p), c.skip)]) // p is the caller's to scribble on
			c.skip -= n
			if err != nil {
				return 0, err
			}
		default:
			size, request, more, bad := streamFrame(c.buf[c.off:c.end])
			switch {
			case bad:
				c.raw = true
			case more:
				if c.end == len(c.buf) { // under a header's bytes at the end: move them to the start
					c.end = copy(c.buf[:], c.buf[c.off:c.end])
					c.off = 0
				}
				n, err := c.Conn.Read(c.buf[c.end:])
				c.end += n
				if err != nil {
					return 0, err
				}
			case request && !c.limiter.allowKey(c.key, c.now()):
				c.skip = size
				c.refused(c.RemoteAddr())
			default:
				c.pass = size
			}
		}
	}
}

// consume hands on or discards the first n buffered bytes.
func (c *streamLimitedConn) consume(n int) {
	c.off += n
	if c.off == c.end {
		c.off, c.end = 0, 0
	}
}
