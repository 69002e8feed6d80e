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
	chain, err = interceptorRegistry(factories, nil).Build("")
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
