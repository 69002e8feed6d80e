package rxstamp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

const (
	// slotBits sizes the Table: 16384 packets between socket and track read.
	slotBits = 14
	// MaxAge: a stamp older than this when its packet is read belongs to an earlier
	// packet with the same SSRC and sequence number.
	MaxAge = 2 * time.Second
)

// Table remembers when each RTP packet arrived, by SSRC and sequence number (SRTP leaves
// the RTP header in the clear). A fixed table of slots, written by the socket's read
// goroutine and read by the tracks' read goroutines, lock-free; a packet whose slot was
// taken by a later one simply has no stamp. The zero value is ready to use.
type Table struct {
	slots [1 << slotBits]slot
}

type slot struct {
	key atomic.Uint64 // key(); 0 while empty or being written
	ns  atomic.Int64  // UnixNano
}

func key(ssrc uint32, seq uint16) uint64 { return 1<<63 | uint64(ssrc)<<16 | uint64(seq) }

func (t *Table) slot(k uint64) *slot {
	return &t.slots[(k*0x9E3779B97F4A7C15)>>(64-slotBits)]
}

// Record notes that datagram b arrived at ns (UnixNano) when it is an RTP packet: first
// byte 128..191 (RFC 7983) and not RTCP (payload type 192..223); it returns the packet's
// SSRC and sequence number, false for anything else. No allocation.
func (t *Table) Record(b []byte, ns int64) (uint32, uint16, bool) {
	if len(b) < 12 || b[0]>>6 != 2 || (b[1] >= 192 && b[1] <= 223) {
		return 0, 0, false
	}
	ssrc, seq := binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint16(b[2:4])
	k := key(ssrc, seq)
	s := t.slot(k)
	s.key.Store(0)
	s.ns.Store(ns)
	s.key.Store(k)
	return ssrc, seq, true
}

// Arrival is when packet ssrc/seq arrived; false when that is unknown or not within
// MaxAge before now (UnixNano).
func (t *Table) Arrival(ssrc uint32, seq uint16, now int64) (int64, bool) {
	k := key(ssrc, seq)
	s := t.slot(k)
	if s.key.Load() != k {
		return 0, false
	}
	ns := s.ns.Load()
	if s.key.Load() != k || ns > now || now-ns > int64(MaxAge) {
		return 0, false
	}
	return ns, true
}

// Read reads one datagram from conn into b with its arrival time (UnixNano): the
// kernel's receive time when kernel (Enable succeeded on conn) and the datagram carries
// one, else the time of the read. No allocation.
func Read(conn *net.UDPConn, kernel bool, b []byte) (int, netip.AddrPort, int64, error) {
	if !kernel {
		n, addr, err := conn.ReadFromUDPAddrPort(b)
		return n, addr, time.Now().UnixNano(), err
	}
	var oob [OOBSize]byte
	n, oobn, _, addr, err := conn.ReadMsgUDPAddrPort(b, oob[:])
	at := Time(oob[:oobn])
	if at == 0 {
		at = time.Now().UnixNano()
	}
	return n, addr, at, err
}
