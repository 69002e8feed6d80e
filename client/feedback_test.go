package client

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/parley-rtc/parley/internal/rxstamp"
)

// TestFeedbackReportsKernelArrival: two packets arrive back to back on a PeerConnection's
// own socket; the second waits in the socket buffer while the client is busy (as a
// starved client's read goroutine does). The TWCC feedback reports the gap at which they
// arrived, not the time the client took to read the second: read-time stamps would report
// the wait as a queue on the sender's link.
func TestFeedbackReportsKernelArrival(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("kernel receive timestamps are read on Linux only")
	}
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	sender, err := net.DialUDP("udp4", nil, udp.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	stamps := &rxstamp.Table{}
	conn := &stampedConn{UDPConn: udp, kernel: rxstamp.Enable(udp), stamps: stamps}
	if !conn.kernel {
		t.Fatal("SO_TIMESTAMPNS was not enabled")
	}

	const extID, ssrc = 3, 0x5678
	packet := func(seq uint16) []byte {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: ssrc}, Payload: make([]byte, 100)}
		ext, err := (&rtp.TransportCCExtension{TransportSequence: seq}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.SetExtension(extID, ext); err != nil {
			t.Fatal(err)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	factory := &feedbackFactory{stamps: stamps}
	i, err := factory.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	fb := i.(*feedbackSender)
	defer fb.Close()
	sent := make(chan *rtcp.TransportLayerCC, 16)
	fb.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if cc, ok := p.(*rtcp.TransportLayerCC); ok {
				sent <- cc
			}
		}
		return 0, nil
	}))
	reader := fb.BindRemoteStream(&interceptor.StreamInfo{SSRC: ssrc,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: extID}}},
		interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			n, _, err := conn.ReadFrom(b)
			return n, a, err
		}))

	// The kernel turns receive timestamping on a moment after the socket asks (until
	// then a datagram is stamped at the read): warm up until one that waited carries a
	// stamp from before the wait.
	buf := make([]byte, 1500)
	for seq := uint16(100); ; seq++ {
		if seq == 200 {
			t.Fatal("datagrams are not stamped with the kernel's receive time")
		}
		if _, err := sender.Write(packet(seq)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		readAt := time.Now()
		if _, _, err := reader.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
		if at, ok := stamps.Arrival(ssrc, seq, time.Now().UnixNano()); ok && at < readAt.UnixNano()-int64(10*time.Millisecond) {
			break
		}
	}
	for len(sent) > 0 {
		<-sent
	}

	const wait = 300 * time.Millisecond
	for _, seq := range []uint16{1000, 1001} {
		if _, err := sender.Write(packet(seq)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if _, _, err := reader.Read(buf, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(wait) // the client is busy; the second packet waits in the socket buffer
	if _, _, err := reader.Read(buf, nil); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < wait {
		t.Fatal("the second read came before the wait")
	}
	arrivals := map[uint16]int64{}
	deadline := time.After(10 * time.Second)
	for arrivals[1000] == 0 || arrivals[1001] == 0 {
		select {
		case cc := <-sent:
			feedbackArrivals(cc, arrivals)
		case <-deadline:
			t.Fatalf("no feedback on packets 1000 and 1001: %v", arrivals)
		}
	}
	if gap := time.Duration(arrivals[1001]-arrivals[1000]) * time.Microsecond; gap >= wait/2 {
		t.Fatalf("feedback reports the second packet %s after the first, want their arrival gap (sent back to back), not the %s the client took to read it", gap, wait)
	}
}

// feedbackArrivals adds the arrival time (µs) of every packet cc reports as received.
func feedbackArrivals(cc *rtcp.TransportLayerCC, into map[uint16]int64) {
	var statuses []uint16
	for _, c := range cc.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for range c.RunLength {
				statuses = append(statuses, c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			statuses = append(statuses, c.SymbolList...)
		}
	}
	at := int64(cc.ReferenceTime) * 64000
	d := 0
	for i, st := range statuses[:min(len(statuses), int(cc.PacketStatusCount))] {
		if st != rtcp.TypeTCCPacketReceivedSmallDelta && st != rtcp.TypeTCCPacketReceivedLargeDelta || d >= len(cc.RecvDeltas) {
			continue
		}
		at += cc.RecvDeltas[d].Delta
		d++
		into[cc.BaseSequenceNumber+uint16(i)] = at
	}
}
