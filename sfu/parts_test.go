package sfu

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPacketBufferWraparound(t *testing.T) {
	b := newPacketBuffer(16)
	put := func(seq uint16) {
		b.put(&rtpPacket{SequenceNumber: seq, Timestamp: uint32(seq) * 10, Marker: seq%2 == 0, Payload: []byte{byte(seq), byte(seq >> 8)}})
	}
	for seq := uint16(65530); seq != 12; seq++ { // 18 packets into 16 slots, across 65535 → 0
		put(seq)
	}
	var dst [maxPacketSize]byte
	tests := []struct {
		seq    uint16
		wantOK bool
	}{
		{65529, false}, // never stored
		{65530, false}, // overwritten by seq 10 (same slot)
		{65531, false}, // overwritten by seq 11
		{65532, true},
		{65535, true},
		{0, true},
		{11, true},
		{12, false}, // not stored yet; its slot holds 65532
	}
	for _, tt := range tests {
		n, marker, ok := b.get(tt.seq, dst[:])
		if ok != tt.wantOK {
			t.Errorf("get(%d) ok = %v, want %v", tt.seq, ok, tt.wantOK)
			continue
		}
		if ok && (!bytes.Equal(dst[:n], []byte{byte(tt.seq), byte(tt.seq >> 8)}) || marker != (tt.seq%2 == 0)) {
			t.Errorf("get(%d) = %x marker %v", tt.seq, dst[:n], marker)
		}
	}
}

func TestThrottle(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	th := throttle{interval: 500 * time.Millisecond}
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true},
		{1 * time.Millisecond, false},
		{499 * time.Millisecond, false},
		{500 * time.Millisecond, true},
		{900 * time.Millisecond, false},
		{1000 * time.Millisecond, true},
		{5 * time.Second, true},
		{4 * time.Second, true}, // clock went backwards: do not stall forever
		{4*time.Second + 100*time.Millisecond, false},
	}
	for _, s := range steps {
		if got := th.allow(base.Add(s.at)); got != s.want {
			t.Errorf("allow(+%s) = %v, want %v", s.at, got, s.want)
		}
	}
}

func TestNACKResponder(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	rtt := 100 * time.Millisecond
	n := newNACKResponder(256)
	steps := []struct {
		seq  uint16
		at   time.Duration
		want bool
	}{
		{7, 0, true},
		{7, 50 * time.Millisecond, false},  // repeat within one RTT
		{7, 99 * time.Millisecond, false},  // still within
		{7, 100 * time.Millisecond, true},  // second resend
		{8, 100 * time.Millisecond, true},  // other packets are independent
		{7, 250 * time.Millisecond, true},  // third resend
		{7, 500 * time.Millisecond, false}, // limit of 3 reached
		{7, 10 * time.Second, false},
		{7 + 256, 10 * time.Second, true}, // same slot, new packet: fresh budget
		{7, 11 * time.Second, true},       // 7 again after its slot was reused: a new wrap
	}
	for i, s := range steps {
		if got := n.allow(s.seq, base.Add(s.at), rtt); got != s.want {
			t.Errorf("step %d: allow(%d, +%s) = %v, want %v", i, s.seq, s.at, got, s.want)
		}
	}
}

func TestSeqHistory(t *testing.T) {
	h := newSeqHistory(64)
	for _, seq := range []uint16{0, 1, 63, 64} {
		if _, _, ok := h.get(seq); ok {
			t.Fatalf("empty history answered %d", seq)
		}
	}
	h.put(0, 500, 9000)
	h.put(65535, 499, 8000)
	if in, ts, ok := h.get(0); !ok || in != 500 || ts != 9000 {
		t.Fatalf("get(0) = %d %d %v", in, ts, ok)
	}
	if in, ts, ok := h.get(65535); !ok || in != 499 || ts != 8000 {
		t.Fatalf("get(65535) = %d %d %v", in, ts, ok)
	}
	h.put(64, 1, 1) // same slot as 0
	if _, _, ok := h.get(0); ok {
		t.Fatal("overwritten entry still answered")
	}
}

// Readers copy packets out of the buffer while its writer keeps overwriting the slots:
// a copy is either the whole packet asked for or refused, never a mix of two packets.
func TestPacketBufferConcurrentReads(t *testing.T) {
	b := newPacketBuffer(16)
	payload := func(seq uint16, dst []byte) []byte {
		n := 100 + int(seq)%900
		for i := range dst[:n] {
			dst[i] = byte(seq)
		}
		return dst[:n]
	}
	var newest atomic.Uint32
	stop := make(chan struct{})
	var readers sync.WaitGroup
	errs := make(chan string, 4)
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			var dst [maxPacketSize]byte
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				seq := uint16(newest.Load()) - 13 - uint16(k%3) // slots the next puts overwrite
				n, ts, marker, ok := b.read(seq, dst[:])
				if !ok {
					continue
				}
				if n != 100+int(seq)%900 || ts != uint32(seq)*3 || marker != (seq%2 == 0) {
					errs <- fmt.Sprintf("seq %d: length %d ts %d marker %v", seq, n, ts, marker)
					return
				}
				for _, c := range dst[:n] {
					if c != byte(seq) {
						errs <- fmt.Sprintf("seq %d: torn payload", seq)
						return
					}
				}
			}
		}()
	}
	var src [maxPacketSize]byte
	for seq := uint16(1); seq != 0 && len(errs) == 0; seq++ {
		b.put(&rtpPacket{SequenceNumber: seq, Timestamp: uint32(seq) * 3, Marker: seq%2 == 0, Payload: payload(seq, src[:])})
		newest.Store(uint32(seq))
	}
	close(stop)
	readers.Wait()
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
}
