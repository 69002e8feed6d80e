package client

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

func TestDropSequenceIsEvenlySpaced(t *testing.T) {
	for _, tt := range []struct {
		rate   float64
		window int // any run of this many consecutive numbers loses exactly rate*window
	}{{0.05, 20}, {0.2, 5}, {0.5, 2}} {
		for start := 0; start < 1000; start++ {
			lost := 0
			for i := 0; i < tt.window; i++ {
				if dropSequence(uint16(start+i), tt.rate) {
					lost++
				}
			}
			if lost != 1 {
				t.Fatalf("rate %v: %d of sequence numbers %d..%d dropped, want 1", tt.rate, lost, start, start+tt.window-1)
			}
		}
	}
	if dropSequence(65535, 0) || dropSequence(7, 0) {
		t.Error("rate 0 drops")
	}
}

// TestLinkSwitch: while cut, nothing passes in either direction; restored, everything does.
func TestLinkSwitch(t *testing.T) {
	s := &LinkSwitch{}
	i, err := s.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	var wroteRTP, wroteRTCP int
	rtpWriter := i.BindLocalStream(&interceptor.StreamInfo{}, interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) {
		wroteRTP++
		return 0, nil
	}))
	rtcpWriter := i.BindRTCPWriter(interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) {
		wroteRTCP++
		return 0, nil
	}))
	reads := 0
	source := func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		reads++
		if reads == 3 {
			s.SetCut(false) // the link comes back while the reader waits
		}
		return 1, a, nil
	}
	rtpReader := i.BindRemoteStream(&interceptor.StreamInfo{}, interceptor.RTPReaderFunc(source))
	rtcpReader := i.BindRTCPReader(interceptor.RTCPReaderFunc(source))

	s.SetCut(true)
	if !s.Cut() {
		t.Fatal("not cut")
	}
	_, _ = rtpWriter.Write(&rtp.Header{}, []byte{1}, nil)
	_, _ = rtcpWriter.Write(nil, nil)
	if wroteRTP != 0 || wroteRTCP != 0 {
		t.Errorf("cut link wrote %d RTP and %d RTCP packets", wroteRTP, wroteRTCP)
	}
	if _, _, err := rtpReader.Read(make([]byte, 10), nil); err != nil || reads != 3 {
		t.Errorf("RTP read returned after %d reads (err %v), want the 3rd (after restore)", reads, err)
	}
	if _, _, err := rtcpReader.Read(make([]byte, 10), nil); err != nil || reads != 4 {
		t.Errorf("RTCP read after restore took %d reads", reads-3)
	}
	_, _ = rtpWriter.Write(&rtp.Header{}, []byte{1}, nil)
	_, _ = rtcpWriter.Write(nil, nil)
	if wroteRTP != 1 || wroteRTCP != 1 {
		t.Errorf("restored link wrote %d RTP and %d RTCP packets, want 1 and 1", wroteRTP, wroteRTCP)
	}
}
