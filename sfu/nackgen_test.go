package sfu

import (
	"slices"
	"testing"
	"time"
)

// nackStep feeds seqs at at, then (when collect is set) compares what the log NACKs at at.
type nackStep struct {
	at      time.Duration
	add     []uint16
	collect bool
	want    []uint16
}

func TestNACKLog(t *testing.T) {
	policy := nackPolicy{maxAge: time.Second, maxTries: 3}
	tests := []struct {
		name   string
		policy nackPolicy
		steps  []nackStep
	}{
		{"loss", policy, []nackStep{{add: []uint16{1, 2, 5}, collect: true, want: []uint16{3, 4}}}},
		{"reorder within an interval", policy, []nackStep{{add: []uint16{1, 3, 2, 4}, collect: true}}},
		{"duplicate", policy, []nackStep{{add: []uint16{1, 1, 3, 3}, collect: true, want: []uint16{2}}}},
		{"wrap-around at 65535", policy, []nackStep{{add: []uint16{65533, 65535, 1}, collect: true, want: []uint16{65534, 0}}}},
		{"late arrival cancels the NACK", policy, []nackStep{
			{add: []uint16{10, 12, 14}, collect: true, want: []uint16{11, 13}},
			{at: 100 * time.Millisecond, add: []uint16{11}, collect: true, want: []uint16{13}},
		}},
		{"max tries", policy, []nackStep{
			{add: []uint16{1, 3}, collect: true, want: []uint16{2}},
			{at: 100 * time.Millisecond, collect: true, want: []uint16{2}},
			{at: 200 * time.Millisecond, collect: true, want: []uint16{2}},
			{at: 300 * time.Millisecond, collect: true},
			{at: 400 * time.Millisecond, add: []uint16{2, 4}, collect: true}, // a given-up packet may still arrive
		}},
		{"max age", nackPolicy{maxAge: 250 * time.Millisecond, maxTries: 10}, []nackStep{
			{add: []uint16{1, 3}, collect: true, want: []uint16{2}},
			{at: 200 * time.Millisecond, add: []uint16{6}, collect: true, want: []uint16{2, 4, 5}},
			{at: 300 * time.Millisecond, collect: true, want: []uint16{4, 5}},
		}},
		{"skip last n", nackPolicy{maxAge: time.Second, maxTries: 3, skipLastN: 2}, []nackStep{
			{add: []uint16{1, 3, 6}, collect: true, want: []uint16{2, 4}},
			{at: 100 * time.Millisecond, add: []uint16{5, 9}, collect: true, want: []uint16{2, 4, 7}},
		}},
		{"stream reset forward", policy, []nackStep{
			{add: []uint16{100, 102, 20000}, collect: true},
			{add: []uint16{20002}, collect: true, want: []uint16{20001}},
		}},
		{"stream reset backward", policy, []nackStep{
			{add: []uint16{1000, 1002, 100, 101, 103}, collect: true, want: []uint16{102}},
		}},
		{"gap of a whole window resets", policy, []nackStep{{add: []uint16{1, 1 + nackLogSize}, collect: true}}},
		{"too late for the window", policy, []nackStep{
			// 2 left the window: neither NACKed nor a reset (4, late, does not follow it)
			{add: []uint16{1, 3, 3 + nackLogSize - 1, 2, 4}, collect: true, want: appendRange(nil, 5, 3+nackLogSize-1)},
		}},
		{"oldest slot of the window", policy, []nackStep{
			{add: []uint16{65000, 65002, 65000 + nackLogSize - 1}, collect: true, want: appendRange([]uint16{65001}, 65003, 65000+nackLogSize-1)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newNACKLog(tt.policy)
			base := testNow.UnixNano()
			for i, st := range tt.steps {
				now := base + int64(st.at)
				for _, s := range st.add {
					l.add(s, now)
				}
				if !st.collect {
					continue
				}
				if got := l.collect(now, nil); !slices.Equal(got, st.want) {
					t.Fatalf("step %d: NACKed %v, want %v", i, got, st.want)
				}
			}
		})
	}
}

// appendRange appends from..to-1 to s.
func appendRange(s []uint16, from, to uint16) []uint16 {
	for v := from; v != to; v++ {
		s = append(s, v)
	}
	return s
}

func TestReceptionStats(t *testing.T) {
	base := testNow.UnixNano()
	var r receptionStats
	r.clockRate = 90000
	// 65534, 65535, (0 lost), 1, 2: 3000 ticks (1/30 s) apart, arriving on time.
	for i, seq := range []uint16{65534, 65535, 1, 2} {
		n := int64(i)
		if seq < 100 {
			n++
		}
		r.add(seq, 1000+uint32(n)*3000, base+n*int64(time.Second)/30)
	}
	r.senderReport(0x0000_1234_5678_0000, base)
	got := r.report(9, base+int64(time.Second)/2)
	if got.LastSequenceNumber != 1<<16|2 || got.TotalLost != 1 || got.FractionLost != 256/5 || got.Jitter != 0 {
		t.Fatalf("report %+v: want extended seq 65538, 1 lost of 5 (fraction 51), no jitter", got)
	}
	if got.LastSenderReport != 0x1234_5678 || got.Delay != 65536/2 {
		t.Fatalf("report %+v: want LSR 0x12345678, DLSR 0.5 s", got)
	}
	// Next interval: nothing lost, one packet 10 ms late.
	r.add(3, 1000+5*3000, base+5*int64(time.Second)/30+int64(10*time.Millisecond))
	got = r.report(9, base+int64(time.Second))
	if got.FractionLost != 0 || got.TotalLost != 1 || got.Jitter != 900/16 {
		t.Fatalf("report %+v: want no new loss, jitter 900/16", got)
	}
}

func BenchmarkPublisherReadPath(b *testing.B) {
	read, _, _, closeChain := publisherReadChain(b)
	defer closeChain()
	buf := make([]byte, 1500)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := read.Read(buf, nil); err != nil {
			b.Fatal(err)
		}
	}
}
