package sfu

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
)

// publisherReadChain is the Engine's interceptor chain (buildInterceptors) bound to one
// remote VP8 stream (SSRC 0x1234, NACK and transport-wide-cc negotiated) whose reads
// yield packets with consecutive sequence numbers but every 50th (lost upstream), and an
// RTCP writer recording what the chain sends. closeChain stops the chain's goroutines.
func publisherReadChain(tb testing.TB) (read interceptor.RTPReader, chain interceptor.Interceptor, rec *rtcpRecorder, closeChain func()) {
	tb.Helper()
	factories, err := buildInterceptors(pionLoggerFactory{logger: slog.New(slog.DiscardHandler)}, &arrivalStamps{})
	if err != nil {
		tb.Fatal(err)
	}
	chain, err = interceptorRegistry(factories, nil, nil).Build("")
	if err != nil {
		tb.Fatal(err)
	}
	rec = &rtcpRecorder{}
	chain.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		return 0, rec.write(pkts)
	}))
	info := &interceptor.StreamInfo{
		SSRC: 0x1234, ClockRate: 90000, MimeType: "video/VP8",
		RTCPFeedback:        []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}},
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}},
	}
	template := rtpBytes(0, 0, false, true, vp8Payload(false, 1))
	seq := uint16(0)
	read = chain.BindRemoteStream(info, interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		if seq++; seq%50 == 0 {
			seq++
		}
		n := copy(b, template)
		b[2], b[3] = byte(seq>>8), byte(seq)
		return n, a, nil
	}))
	return read, chain, rec, func() {
		chain.UnbindRemoteStream(info)
		if err := chain.Close(); err != nil {
			tb.Error(err)
		}
	}
}

// Reading a publisher's packet through the Engine's interceptors allocates nothing (pion's
// NACK generator and receiver-report interceptor made an Attributes map and an rtp.Header
// per packet, D113).
func TestPublisherReadPathAllocatesNothing(t *testing.T) {
	read, _, _, closeChain := publisherReadChain(t)
	defer closeChain()
	buf := make([]byte, 1500)
	readOne := func() {
		if _, _, err := read.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 1000 { // past the first gaps
		readOne()
	}
	if allocs := testing.AllocsPerRun(2000, readOne); allocs != 0 {
		t.Fatalf("%.2f allocations per received packet, want 0", allocs)
	}
}

// The chain NACKs what the publisher's stream lost and reports it (receiver report with
// the loss and the last sender report read from the publisher's RTCP).
func TestNACKReporterNACKsAndReports(t *testing.T) {
	read, chain, rec, closeChain := publisherReadChain(t)
	defer closeChain()
	buf := make([]byte, 1500)
	for range 120 { // sequence numbers 1..122 but 50 and 100
		if _, _, err := read.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	sr, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.SenderReport{SSRC: 0x1234, NTPTime: 0xAAAA_BBBB_CCCC_DDDD},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 0x1234, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x"}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rtcpRead := chain.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, sr), a, nil
	}))
	if _, _, err := rtcpRead.Read(buf, nil); err != nil {
		t.Fatal(err)
	}
	var (
		nacked []uint16
		report *rtcp.ReceptionReport
	)
	waitFor(t, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, p := range rec.pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				if p.MediaSSRC == 0x1234 {
					for _, pair := range p.Nacks {
						nacked = append(nacked, pair.PacketList()...)
					}
				}
			case *rtcp.ReceiverReport:
				report = &p.Reports[0]
			}
		}
		rec.pkts = rec.pkts[:0]
		return report != nil && len(nacked) > 0
	})
	slices.Sort(nacked)
	nacked = slices.Compact(nacked)
	if !slices.Equal(nacked, []uint16{50, 100}) {
		t.Errorf("NACKed %v, want [50 100]", nacked)
	}
	if report.SSRC != 0x1234 || report.TotalLost != 2 || report.LastSequenceNumber != 122 || report.LastSenderReport != 0xBBBB_CCCC {
		t.Errorf("receiver report %+v, want 2 of 122 lost, LSR 0xBBBBCCCC", *report)
	}
}

// Parley's NACK pairs are pion's (rtcp.NackPairsFromSequenceNumbers) for the same
// missing packets, across gaps of 16 and 17 and the wrap at 65535.
func TestNACKPairsMatchPion(t *testing.T) {
	for _, missing := range [][]uint16{
		{}, {5}, {5, 6, 21}, {5, 22}, {5, 21, 22, 38}, {65530, 65535, 0, 3, 40},
		{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35},
	} {
		got := nackPairs(nil, missing)
		want := rtcp.NackPairsFromSequenceNumbers(missing)
		if len(missing) == 0 {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Errorf("%v: pairs %v, pion's %v", missing, got, want)
		}
	}
}

// One send writes every stream's receiver report and NACKs as one compound packet (a
// write per stream before, D175), more only when they do not fit one datagram; pion
// parses it and reads every stream's report and every missing packet; and it allocates
// nothing.
func TestNACKReporterWritesOneCompound(t *testing.T) {
	for _, tt := range []struct {
		name          string
		streams, skip int // every skip-th packet of each stream is lost
		writes        int // 0: more than one
	}{
		{"three streams", 3, 10, 1},
		{"35 streams, no loss: two receiver reports", 35, 1000, 1},
		{"40 streams: more than a datagram", 40, 17, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &nackReporter{policy: defaultNACKPolicy, senderSSRC: 7, streams: map[uint32]*receivedStream{}}
			lost := map[uint32][]uint16{}
			for i := range tt.streams {
				s := &receivedStream{ssrc: uint32(100 + i), nack: newNACKLog(defaultNACKPolicy), rx: receptionStats{clockRate: 90000}}
				f.streams[s.ssrc] = s
				for seq := uint16(1); seq <= 400; seq++ {
					if seq%uint16(tt.skip) == 0 {
						lost[s.ssrc] = append(lost[s.ssrc], seq)
						continue
					}
					s.onRTP(rtpBytes(seq, uint32(seq)*3000, false, false, nil), 1)
				}
			}
			highest := uint16(400) // the highest received: a loss after it is not known yet
			if 400%tt.skip == 0 {
				highest = 399
			}
			writes, reports, nacked := 0, map[uint32]bool{}, map[uint32][]uint16{}
			out := &rtcpCompound{write: func(p []rtcp.Packet) (int, error) {
				writes++
				raw, err := rtcp.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				if len(raw) > 1200 {
					t.Errorf("a write of %d bytes", len(raw))
				}
				pkts, err := rtcp.Unmarshal(raw)
				if err != nil {
					t.Fatal(err)
				}
				for _, pkt := range pkts {
					switch p := pkt.(type) {
					case *rtcp.ReceiverReport:
						for _, r := range p.Reports {
							reports[r.SSRC] = r.LastSequenceNumber == uint32(highest) && p.SSRC == 7
						}
					case *rtcp.TransportLayerNack:
						for _, pair := range p.Nacks {
							nacked[p.MediaSSRC] = append(nacked[p.MediaSSRC], pair.PacketList()...)
						}
					default:
						t.Fatalf("%T in the compound", pkt)
					}
				}
				return len(raw), nil
			}}
			sc := &nackScratch{missing: make([]uint16, 0, nackLogSize), pairs: make([]rtcp.NackPair, 0, nackLogSize)}
			f.send(out, true, sc, 2)
			if writes != tt.writes && (tt.writes != 0 || writes < 2) {
				t.Errorf("%d writes, want %d (0: more than one)", writes, tt.writes)
			}
			for ssrc, want := range lost {
				if !reports[ssrc] {
					t.Errorf("stream %d: no receiver report of its highest sequence number", ssrc)
				}
				if want = slices.DeleteFunc(want, func(s uint16) bool { return s > highest }); !slices.Equal(nacked[ssrc], want) {
					t.Errorf("stream %d: NACKed %v, want %v", ssrc, nacked[ssrc], want)
				}
			}
			out.write = func([]rtcp.Packet) (int, error) { return 0, nil }
			if n := testing.AllocsPerRun(20, func() { f.send(out, true, sc, 3) }); n != 0 {
				t.Errorf("%.1f allocations per send", n)
			}
		})
	}
}
