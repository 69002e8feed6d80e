package sfu

import "testing"

// rewriteStep is one input packet: forwarded (drop=false) or deliberately dropped.
type rewriteStep struct {
	drop    bool
	inSeq   uint16
	inTS    uint32
	wantOK  bool
	wantSeq uint16
	wantTS  uint32
}

func fwd(inSeq uint16, inTS uint32, wantSeq uint16, wantTS uint32) rewriteStep {
	return rewriteStep{inSeq: inSeq, inTS: inTS, wantOK: true, wantSeq: wantSeq, wantTS: wantTS}
}

func refused(inSeq uint16, inTS uint32) rewriteStep {
	return rewriteStep{inSeq: inSeq, inTS: inTS}
}

func dropped(inSeq uint16) rewriteStep { return rewriteStep{drop: true, inSeq: inSeq} }

func TestRewriter(t *testing.T) {
	tests := []struct {
		name     string
		startSeq uint16
		startTS  uint32
		steps    []rewriteStep
	}{
		{"offsets from the first packet", 100, 5000, []rewriteStep{
			fwd(7000, 90000, 100, 5000),
			fwd(7001, 93000, 101, 8000),
			fwd(7002, 96000, 102, 11000),
		}},
		{"output sequence wraps at 65535", 65534, 0, []rewriteStep{
			fwd(10, 1, 65534, 0),
			fwd(11, 2, 65535, 1),
			fwd(12, 3, 0, 2),
			fwd(13, 4, 1, 3),
		}},
		{"input sequence wraps at 65535", 500, 0, []rewriteStep{
			fwd(65534, 10, 500, 0),
			fwd(65535, 20, 501, 10),
			fwd(0, 30, 502, 20),
			fwd(1, 40, 503, 30),
		}},
		{"output timestamp wraps at 2^32", 1, 4294967290, []rewriteStep{
			fwd(1, 1000, 1, 4294967290),
			fwd(2, 1003, 2, 4294967293),
			fwd(3, 1006, 3, 0),
			fwd(4, 1009, 4, 3),
		}},
		{"input timestamp wraps at 2^32", 1, 100, []rewriteStep{
			fwd(1, 4294967295, 1, 100),
			fwd(2, 2, 2, 103),
		}},
		{"upstream loss keeps its gap", 100, 0, []rewriteStep{
			fwd(10, 0, 100, 0),
			fwd(13, 30, 103, 30),
			fwd(11, 10, 101, 10), // late arrival fills the gap with the same offset
			fwd(12, 20, 102, 20),
			fwd(14, 40, 104, 40),
		}},
		{"deliberate drops then keyframe continue without gap", 100, 0, []rewriteStep{
			fwd(10, 0, 100, 0),
			fwd(11, 0, 101, 0),
			dropped(12),
			dropped(13),
			dropped(14),
			fwd(15, 3000, 102, 3000), // timestamps keep real time
			fwd(16, 3000, 103, 3000),
		}},
		{"deliberate drop across input wraparound", 100, 0, []rewriteStep{
			fwd(65534, 0, 100, 0),
			dropped(65535),
			dropped(0),
			fwd(1, 90, 101, 90),
			fwd(2, 90, 102, 90),
		}},
		{"late packet from before a drop epoch is refused", 100, 0, []rewriteStep{
			fwd(10, 0, 100, 0),
			dropped(12),
			fwd(13, 30, 101, 30),
			refused(11, 10),
			fwd(14, 40, 102, 40),
		}},
		{"upstream loss then deliberate drop closes both", 100, 0, []rewriteStep{
			fwd(10, 0, 100, 0),
			dropped(12), // 11 lost upstream, 12 dropped here
			fwd(13, 30, 101, 30),
		}},
		{"duplicate refused", 100, 0, []rewriteStep{
			fwd(10, 0, 100, 0),
			refused(10, 0),
			fwd(11, 10, 101, 10),
		}},
		{"drop before the first packet changes nothing", 100, 7, []rewriteStep{
			dropped(9),
			fwd(10, 50, 100, 7),
		}},
		{"publisher restart continues after the last output", 100, 0, []rewriteStep{
			fwd(30000, 1000, 100, 0),
			fwd(30001, 1100, 101, 100),
			fwd(1, 777, 102, 101), // 30000 behind: a restart, not a late packet
			fwd(2, 877, 103, 201),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w rewriter
			w.startAt(tt.startSeq, tt.startTS)
			for i, s := range tt.steps {
				if s.drop {
					w.drop(s.inSeq)
					continue
				}
				var r rewrite
				ok := w.next(s.inSeq, s.inTS, &r)
				if ok != s.wantOK {
					t.Fatalf("step %d (in %d): ok = %v, want %v", i, s.inSeq, ok, s.wantOK)
				}
				if !ok {
					continue
				}
				if r.seq != s.wantSeq || r.ts != s.wantTS {
					t.Fatalf("step %d (in %d/%d): out %d/%d, want %d/%d", i, s.inSeq, s.inTS, r.seq, r.ts, s.wantSeq, s.wantTS)
				}
				w.commit(&r)
			}
		})
	}
}

func TestRewriterNextWithoutCommitChangesNothing(t *testing.T) {
	var w rewriter
	w.startAt(100, 0)
	var r rewrite
	w.next(10, 0, &r)
	w.commit(&r)
	if ok := w.next(11, 10, &rewrite{}); !ok { // the queue refuses it: no commit
		t.Fatal("next refused an in-order packet")
	}
	w.drop(11)
	ok := w.next(12, 20, &r)
	if !ok || r.seq != 101 {
		t.Fatalf("after a refused packet: seq %d ok %v, want 101", r.seq, ok)
	}
}
