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
	fb.BindRTCPWriter(feedbackWriter(t, sent))
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

// feedbackWriter is an RTCP writer that parses each transport-wide feedback written
// (the bytes are valid only during Write) and sends it on sent.
func feedbackWriter(t testing.TB, sent chan<- *rtcp.TransportLayerCC) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			raw, err := p.Marshal()
			if err != nil {
				t.Error(err)
				continue
			}
			var cc rtcp.TransportLayerCC
			if cc.Unmarshal(raw) == nil {
				sent <- &cc
			}
		}
		return 0, nil
	})
}

// TestFeedbackSendDoesNotAllocate: building a feedback and handing it to the RTCP writer
// allocates nothing (pion's twcc.Recorder, which the client used before D153, made 22–39
// objects a feedback), with losses and large deltas mixing the status chunks; the writer
// gets the recorded packets.
func TestFeedbackSendDoesNotAllocate(t *testing.T) {
	i, err := (&feedbackFactory{}).NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	fb := i.(*feedbackSender)
	defer fb.Close()
	writes := 0
	var last []byte
	w := interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		writes++
		last, _ = pkts[0].Marshal()
		return len(last), nil
	})
	now := time.Unix(0, fb.startNs).Add(time.Second)
	n := uint16(0)
	feedback := func() {
		for k := range 40 {
			if k%7 != 3 { // a loss now and then
				fb.record(0x5678, n, now)
			}
			n++
			now = now.Add(time.Millisecond + time.Duration(k%5)*20*time.Millisecond)
		}
		fb.send(w)
	}
	feedback() // the first feedback, outside the count
	if allocs := testing.AllocsPerRun(50, feedback); allocs != 0 {
		t.Fatalf("%.1f allocations per feedback, want none", allocs)
	}
	if writes < 51 {
		t.Fatalf("%d feedback packets written in 51 feedbacks", writes)
	}
	var cc rtcp.TransportLayerCC
	if err := cc.Unmarshal(last); err != nil {
		t.Fatalf("the last feedback: %v", err)
	}
	arrivals := map[uint16]int64{}
	feedbackArrivals(&cc, arrivals)
	if cc.MediaSSRC != 0x5678 || len(arrivals) < 30 {
		t.Fatalf("the last feedback: media SSRC %#x, %d packets reported received", cc.MediaSSRC, len(arrivals))
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
