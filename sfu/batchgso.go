package sfu

import (
	"net"

	"golang.org/x/net/ipv4"
)

// UDP segmentation offload on the batched writes (decision D141): a run of queued
// datagrams to one destination, all of one size but the last (which may be shorter),
// leaves as ONE message of the sendmmsg with a UDP_SEGMENT control message; the kernel
// builds one packet through the stack and cuts it into the datagrams at the end (on the
// device, or before the receiving socket on loopback), so the per-datagram work of the
// send path is paid once per run. Video frames split into equal payloads make such runs.
// The first write the kernel refuses turns it off for the batchWriter (gsoOff).

// gsoMaxBytes bounds one coalesced message (a UDP datagram's 64 KiB, headers included).
const gsoMaxBytes = 65000

// gsoShard is a datagramBatch's second set of messages, the coalesced ones; preallocated.
type gsoShard struct {
	msgs  []ipv4.Message // one per datagram, each with a buffer slot per datagram and a control buffer
	oob   [][]byte
	first []int // per coalesced message: the index of its first queued datagram
	segs  []int // per coalesced message: how many datagrams it carries
}

func newGSOShard(size int) gsoShard {
	g := gsoShard{msgs: make([]ipv4.Message, size), oob: make([][]byte, size),
		first: make([]int, size), segs: make([]int, size)}
	for i := range g.msgs {
		g.msgs[i].Buffers = make([][]byte, 0, size)
		g.oob[i] = make([]byte, gsoControlLen)
	}
	return g
}

// sameDestination reports whether two queued addresses are equal.
func sameDestination(a, b *net.UDPAddr) bool { return a.Port == b.Port && a.IP.Equal(b.IP) }

// coalesce groups d's datagrams into runs to one destination (all of the first's
// size, the last of the run possibly shorter) and returns the messages to write: a run
// of one is its datagram as queued, a longer one a single message with a UDP_SEGMENT
// control message. No allocation.
func (s *datagramBatch) coalesce() []ipv4.Message {
	g := &s.gso
	k := 0
	for i := 0; i < s.n; k++ {
		size := len(s.msgs[i].Buffers[0])
		j, total := i+1, size
		for j < s.n && sameDestination(&s.addrs[j], &s.addrs[i]) && total+len(s.msgs[j].Buffers[0]) <= gsoMaxBytes {
			n := len(s.msgs[j].Buffers[0])
			if n > size {
				break
			}
			total += n
			j++
			if n < size {
				break // a shorter datagram ends a run
			}
		}
		m := &g.msgs[k]
		m.Addr = s.msgs[i].Addr
		m.Buffers = m.Buffers[:0]
		for x := i; x < j; x++ {
			m.Buffers = append(m.Buffers, s.msgs[x].Buffers[0])
		}
		m.OOB = nil
		if j-i > 1 {
			putGSOControl(g.oob[k], size)
			m.OOB = g.oob[k]
		}
		g.first[k], g.segs[k] = i, j-i
		i = j
	}
	return g.msgs[:k]
}
