package sfu

import "testing"

// TestSenderCountsDrops: a full queue refuses and counts the packet; an oversize payload
// is counted too; a closed sender refuses without counting (not a slow subscriber).
func TestSenderCountsDrops(t *testing.T) {
	s := newSender(2)
	p := &Peer{sender: s}
	payload := make([]byte, 100)
	for i := 0; i < 3; i++ {
		s.enqueue(nil, uint16(i), 0, false, payload)
	}
	if got := p.SenderStats(); got.Dropped != 1 || got.ForwardedPackets != 0 {
		t.Fatalf("after 3 enqueues into 2 slots: %+v, want 1 dropped", got)
	}
	s.discardQueued()
	s.enqueue(nil, 9, 0, false, make([]byte, maxPacketSize+1))
	if got := p.SenderStats(); got.Dropped != 2 {
		t.Fatalf("oversize payload: %+v, want 2 dropped", got)
	}
	s.close()
	s.enqueue(nil, 10, 0, false, payload)
	if got := p.SenderStats(); got.Dropped != 2 {
		t.Fatalf("closed sender: %+v, want still 2 dropped", got)
	}
	if got := (&Peer{}).SenderStats(); got != (SenderStats{}) {
		t.Fatalf("publisher peer: %+v", got)
	}
}
