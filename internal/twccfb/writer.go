package twccfb

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// Writer is a feedback sender's hand-off of a Recorder's feedback to pion's RTCP writer,
// the loop the server's sender (sfu) and the Go client's share: each packet is built
// under the sender's lock and written after it is released, through one Packet in one
// one-element []rtcp.Packet kept here, so nothing is allocated per feedback (D157).
// The feedback goroutine's alone: not safe for concurrent use.
type Writer struct {
	packet  Packet
	packets [1]rtcp.Packet
}

// WriteNext builds r's next feedback packet while holding mu (the lock that guards r's
// arrivals), runs built (when not nil) under mu after the build, and with mu released
// writes the packet with w. It reports whether it wrote one: false when r had nothing
// more to report or w failed (which happens only once the PeerConnection is closing).
// No allocation here (pion's RTCP write path copies and encrypts the packet).
func (s *Writer) WriteNext(w interceptor.RTCPWriter, mu sync.Locker, r *Recorder, built func()) bool {
	mu.Lock()
	b := r.Build()
	s.packet.Set(b, r.MediaSSRC())
	if built != nil {
		built()
	}
	mu.Unlock()
	if b == nil {
		return false
	}
	if s.packets[0] == nil {
		s.packets[0] = &s.packet
	}
	_, err := w.Write(s.packets[:], nil)
	return err == nil
}
