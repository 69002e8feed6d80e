package sfu

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestSenderCountsDrops: a full queue refuses and counts the packet; a queued packet
// whose buffer slot was overwritten before the write is dropped and counted too; a
// closed sender refuses without counting (not a slow subscriber).
func TestSenderCountsDrops(t *testing.T) {
	s := newSender(2)
	p := &Subscriber{sender: s}
	r := testReceiver(webrtc.RTPCodecTypeVideo, nil)
	w := &fakeTrackWriter{}
	d := bindTestDownTrack(r, s, w)
	put := func(seq uint16) { r.buffer.put(&rtpPacket{SequenceNumber: seq, Payload: make([]byte, 100)}) }
	put(1)
	for i := 0; i < 3; i++ {
		s.enqueue(d, r.buffer, 1, uint16(i), 0, vp8Munge{})
	}
	if got := p.SenderStats(); got.Dropped != 1 || got.ForwardedPackets != 0 {
		t.Fatalf("after 3 enqueues into 2 slots: %+v, want 1 dropped", got)
	}
	s.discardQueued()
	s.enqueue(d, r.buffer, 1, 9, 0, vp8Munge{})
	put(1 + uint16(r.buffer.size())) // the same slot, before the writer got to it
	drainSender(s)
	if got := p.SenderStats(); got.Dropped != 2 || got.ForwardedPackets != 0 || len(w.snapshot()) != 0 {
		t.Fatalf("overwritten slot: %+v, %d written, want 2 dropped, none written", got, len(w.snapshot()))
	}
	if !d.overwritten.Load() {
		t.Fatal("the DownTrack was not told that its packet was dropped")
	}
	s.close()
	s.enqueue(d, r.buffer, 1, 10, 0, vp8Munge{})
	if got := p.SenderStats(); got.Dropped != 2 {
		t.Fatalf("closed sender: %+v, want still 2 dropped", got)
	}
}
