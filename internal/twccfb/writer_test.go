package twccfb

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"

	"github.com/parley-rtc/parley/internal/twcctest"
)

// TestWriterWriteNext: WriteNext writes each feedback built as one packet, with the
// sender's lock released during the write and held while built runs, and reports false
// once nothing is left or the write fails.
func TestWriterWriteNext(t *testing.T) {
	errClosed := errors.New("closed")
	tests := []struct {
		name     string
		arrivals int // packets recorded, 1 ms apart
		writeErr error
		want     []bool // what the WriteNext calls report, in order
		writes   int
	}{
		{"nothing recorded", 0, nil, []bool{false}, 0},
		{"one feedback", 10, nil, []bool{true, false}, 1},
		{"several feedbacks", 3000, nil, []bool{true, true, true, false}, 3},
		{"the write fails", 10, errClosed, []bool{false}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			r := NewRecorder(1)
			for i := range tt.arrivals {
				r.Record(7, uint16(i), int64(i)*1000)
			}
			var wr Writer
			writes, statuses, builds := 0, 0, 0
			w := interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
				if !mu.TryLock() {
					t.Fatal("the lock is held during the write")
				}
				mu.Unlock()
				writes++
				if len(pkts) != 1 || !slices.Equal(pkts[0].DestinationSSRC(), []uint32{7}) {
					t.Fatalf("wrote %d packets, to %v", len(pkts), pkts[0].DestinationSSRC())
				}
				raw, _ := pkts[0].Marshal()
				_, st, err := twcctest.PionStatuses(raw)
				if err != nil {
					t.Fatalf("pion: %v", err)
				}
				statuses += len(st)
				return len(raw), tt.writeErr
			})
			built := func() {
				if mu.TryLock() {
					t.Fatal("built runs without the lock")
				}
				builds++
			}
			for i, want := range tt.want {
				if got := wr.WriteNext(w, &mu, r, built); got != want {
					t.Fatalf("call %d reported %v, want %v", i, got, want)
				}
			}
			if writes != tt.writes || builds != len(tt.want) {
				t.Fatalf("%d writes, %d builds; want %d, %d", writes, builds, tt.writes, len(tt.want))
			}
			if tt.writeErr == nil && statuses != tt.arrivals {
				t.Fatalf("%d statuses reported for %d arrivals", statuses, tt.arrivals)
			}
		})
	}
}

// TestWriterWriteNextAllocatesNothing: no allocation per feedback once its packet is in place.
func TestWriterWriteNextAllocatesNothing(t *testing.T) {
	var mu sync.Mutex
	r := NewRecorder(1)
	var wr Writer
	w := interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) { return 0, nil })
	seq := uint16(0)
	send := func() {
		for range 20 {
			r.Record(7, seq, int64(seq)*1000)
			seq++
		}
		for wr.WriteNext(w, &mu, r, nil) {
		}
	}
	send()
	if allocs := testing.AllocsPerRun(100, send); allocs != 0 {
		t.Fatalf("%.1f allocations per send", allocs)
	}
}
