package sfu

import (
	"fmt"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// A sender report's NTP and RTP times are one instant of the stream as the Sender wrote
// it: the RTP time is extrapolated from when the newest frame's first packet was written,
// a resend (an older sequence number) counts but moves nothing, and pion's parser reads
// every field back.
func TestSenderReportRoundTrip(t *testing.T) {
	base := time.Date(2026, 12, 5, 23, 0, 0, 123_456_789, time.UTC).UnixNano()
	ms := int64(time.Millisecond)
	type write struct {
		seq     uint16
		ts      uint32
		payload int
		at      int64 // ns after base
	}
	tests := []struct {
		name      string
		clockRate uint32
		writes    []write
		at        int64 // the report, ns after base
		rtpTime   uint32
		packets   uint32
		octets    uint32
	}{
		{"one packet, report at once", 90000, []write{{10, 1000, 100, 0}}, 0, 1000, 1, 100},
		{"frame of three, report 1 s after its first packet", 90000,
			[]write{{10, 1000, 1000, 0}, {11, 1000, 1000, 2 * ms}, {12, 1000, 500, 4 * ms}}, 1000 * ms, 1000 + 90000, 3, 2500},
		{"next frame moves the reference", 48000,
			[]write{{10, 960, 80, 0}, {11, 1920, 80, 20 * ms}}, 520 * ms, 1920 + 24000, 2, 160},
		{"a resend counts but moves nothing", 90000,
			[]write{{10, 1000, 100, 0}, {11, 4000, 100, 33 * ms}, {10, 1000, 100, 50 * ms}}, 133 * ms, 4000 + 9000, 3, 300},
		{"sequence numbers wrap", 90000,
			[]write{{65535, 0xFFFF_FF00, 10, 0}, {0, 0x0000_0B00, 10, 33 * ms}}, 43 * ms, 0x0000_0B00 + 900, 2, 20},
		{"timestamps wrap in the extrapolation", 90000,
			[]write{{1, 0xFFFF_FFF0, 10, 0}}, 10 * ms, 900 - 0x10, 1, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s srState
			for _, w := range tt.writes {
				s.onWrite(w.seq, w.ts, w.payload, base+w.at)
			}
			now := base + tt.at
			raw := appendSenderReport(nil, 0xCAFE, &s, tt.clockRate, now)
			pkts, err := rtcp.Unmarshal(raw)
			if err != nil || len(pkts) != 1 {
				t.Fatalf("pion parses %d packets, %v", len(pkts), err)
			}
			sr, ok := pkts[0].(*rtcp.SenderReport)
			if !ok {
				t.Fatalf("pion parses a %T", pkts[0])
			}
			want := rtcp.SenderReport{SSRC: 0xCAFE, NTPTime: ntpTime(time.Unix(0, now)), RTPTime: tt.rtpTime,
				PacketCount: tt.packets, OctetCount: tt.octets}
			if sr.SSRC != want.SSRC || sr.NTPTime != want.NTPTime || sr.RTPTime != want.RTPTime ||
				sr.PacketCount != want.PacketCount || sr.OctetCount != want.OctetCount || len(sr.Reports) != 0 {
				t.Fatalf("got %+v, want %+v", *sr, want)
			}
			// A receiver report echoes the middle 32 bits as LSR; the DownTrack's RTT
			// arithmetic (ntpShort) must agree with them.
			if uint32(sr.NTPTime>>16) != ntpShort(time.Unix(0, now)) {
				t.Fatalf("LSR %x, ntpShort %x", uint32(sr.NTPTime>>16), ntpShort(time.Unix(0, now)))
			}
		})
	}
}

// reportTracks makes n bound DownTracks (SSRC 1..n, VP8) that have each written one
// packet, and unbound and silent ones that must not be reported.
func reportTracks(n int) []*DownTrack {
	var tracks []*DownTrack
	for i := 1; i <= n; i++ {
		d := &DownTrack{codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{ClockRate: 90000}}}
		d.binding.Store(&downTrackBinding{ssrc: uint32(i)})
		d.sr.onWrite(1, 1000, 100, 0)
		tracks = append(tracks, d)
	}
	unbound := &DownTrack{}
	unbound.sr.onWrite(1, 1000, 100, 0)
	silent := &DownTrack{}
	silent.binding.Store(&downTrackBinding{ssrc: 999})
	return append(tracks, unbound, silent)
}

// The reports of all a subscriber's DownTracks go as one compound packet per write
// (split within the RTCP datagram bound), once per interval, without allocating.
func TestSenderReportsCompound(t *testing.T) {
	for _, tt := range []struct{ tracks, writes int }{{0, 0}, {1, 1}, {8, 1}, {senderReportsPerPacket, 1}, {senderReportsPerPacket + 1, 2}, {100, 3}} {
		t.Run(fmt.Sprintf("tracks=%d", tt.tracks), func(t *testing.T) {
			tracks := reportTracks(tt.tracks)
			var writes int
			seen := map[uint32]bool{}
			r := &senderReports{tracks: func() []*DownTrack { return tracks }, out: rtcpCompound{write: func(p []rtcp.Packet) (int, error) {
				writes++
				raw, err := rtcp.Marshal(p) // as pion's DTLSTransport.WriteRTCP does
				if err != nil {
					t.Fatal(err)
				}
				if len(raw) > 1200 {
					t.Errorf("write of %d bytes", len(raw))
				}
				pkts, err := rtcp.Unmarshal(raw)
				if err != nil {
					t.Fatal(err)
				}
				for _, pkt := range pkts {
					sr, ok := pkt.(*rtcp.SenderReport)
					if !ok || seen[sr.SSRC] {
						t.Fatalf("%T %+v in the compound (seen before: %v)", pkt, pkt, ok && seen[sr.SSRC])
					}
					seen[sr.SSRC] = true
				}
				return len(raw), nil
			}}}
			now := time.Now().UnixNano()
			r.send(now)
			r.send(now + int64(senderReportInterval) - 1) // not due
			if writes != tt.writes || len(seen) != tt.tracks {
				t.Fatalf("%d writes of %d reports, want %d of %d", writes, len(seen), tt.writes, tt.tracks)
			}
			clear(seen)
			r.send(now + int64(senderReportInterval))
			if writes != 2*tt.writes || len(seen) != tt.tracks {
				t.Fatalf("after the interval: %d writes of %d reports, want %d of %d", writes, len(seen), 2*tt.writes, tt.tracks)
			}
		})
	}
}

func TestSenderReportsAllocateNothing(t *testing.T) {
	tracks := reportTracks(100)
	r := &senderReports{tracks: func() []*DownTrack { return tracks }, out: rtcpCompound{write: func([]rtcp.Packet) (int, error) { return 0, nil }}}
	now := time.Now().UnixNano()
	if n := testing.AllocsPerRun(100, func() {
		now += int64(senderReportInterval)
		r.send(now)
		tracks[0].sr.onWrite(2, 4000, 100, now)
	}); n != 0 {
		t.Fatalf("%.1f allocations per send", n)
	}
}

// No interceptor of the Engine's chain (but the outermost transport-wide numbering,
// which the congestion controller needs) touches a packet a subscriber's PeerConnection
// writes: sender reports come from the Sender's own counts (D174), where pion's
// sender-report interceptor took the time and a lock per packet.
func TestEngineChainHasNoPerPacketWriteHook(t *testing.T) {
	factories, err := buildInterceptors(pionLoggerFactory{logger: slog.New(slog.DiscardHandler)}, &arrivalStamps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range factories {
		i, err := f.NewInterceptor("")
		if err != nil {
			t.Fatal(err)
		}
		w := &countingRTPWriter{}
		info := &interceptor.StreamInfo{SSRC: 1, ClockRate: 90000, MimeType: webrtc.MimeTypeVP8}
		if got, ok := i.BindLocalStream(info, w).(*countingRTPWriter); !ok || got != w {
			t.Errorf("%T wraps the writer of a local stream", i)
		}
		i.UnbindLocalStream(info)
		if err := i.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

type countingRTPWriter struct{ n int }

func (w *countingRTPWriter) Write(*rtp.Header, []byte, interceptor.Attributes) (int, error) {
	w.n++
	return 0, nil
}

// A browser-like pion client (pion's default interceptors) gets the server's sender
// reports: each maps its track's RTP time to the wall clock at which the packets arrived
// (same machine, same clock), so an audio and a video packet captured together map to
// the same time (lip sync) although the server starts each DownTrack's timestamps at
// random; and the client's receiver reports, answering them, give the server a
// round-trip time.
func TestSenderReportsToPionClient(t *testing.T) {
	engine := newTestEngine(t)
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "alice-media")
	if err != nil {
		t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "alice-media")
	if err != nil {
		t.Fatal(err)
	}
	_, receivers := publish(t, engine, video, audio)

	// Both tracks from one capture clock every 20 ms, the capture's number n at the end
	// of each payload; their timestamps start far apart.
	start := time.Now()
	stop := repeat(20*time.Millisecond, func() {
		elapsed := time.Since(start)
		n := uint16(elapsed / (20 * time.Millisecond))
		_ = video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: n, Marker: true,
			Timestamp: 5_000_000 + uint32(elapsed.Microseconds()*90/1000)}, Payload: append(vp8Payload(n%25 == 0, n), byte(n>>8), byte(n))})
		_ = audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: n,
			Timestamp: 70_000 + uint32(elapsed.Microseconds()*48/1000)}, Payload: []byte{0xF8, byte(n >> 8), byte(n)}})
	})
	defer stop()

	sub, client, readers := subscribedClient(t, engine)
	type report struct{ ntp, rtp float64 } // seconds since 1970, RTP time
	var (
		mu      sync.Mutex
		reports = map[webrtc.RTPCodecType]report{}            // the newest sender report per kind
		clock   = map[webrtc.RTPCodecType]float64{}           // ticks per second
		ts      = map[webrtc.RTPCodecType]map[uint16]uint32{} // capture n → RTP timestamp as received
	)
	client.OnTrack(func(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		kind := track.Kind()
		mu.Lock()
		clock[kind], ts[kind] = float64(track.Codec().ClockRate), map[uint16]uint32{}
		mu.Unlock()
		readClientTrack(readers, track, receiver, func(p *rtp.Packet) {
			if n := len(p.Payload); n >= 3 {
				mu.Lock()
				ts[kind][uint16(p.Payload[n-2])<<8|uint16(p.Payload[n-1])] = p.Timestamp
				mu.Unlock()
			}
		}, func(sr *rtcp.SenderReport) {
			ntp := float64(sr.NTPTime>>32) - 2208988800 + float64(sr.NTPTime&0xFFFFFFFF)/(1<<32)
			mu.Lock()
			reports[kind] = report{ntp, float64(sr.RTPTime)}
			mu.Unlock()
		})
	})
	for range 2 {
		select {
		case r := <-receivers:
			if _, err := sub.AddDownTrack(r); err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the published tracks did not arrive")
		}
	}
	negotiate(t, sub, client)
	waitFor(t, func() bool {
		stats := sub.DownlinkStats()
		if len(stats.Tracks) != 2 {
			return false
		}
		for _, tr := range stats.Tracks {
			if tr.Reports == 0 || tr.RTT == 0 {
				return false // the client's receiver reports, with LSR and DLSR
			}
		}
		mu.Lock()
		defer mu.Unlock()
		return len(reports) == 2
	})
	stop()
	mu.Lock()
	defer mu.Unlock()
	// wall is when capture n of kind happened, by kind's newest report.
	wall := func(kind webrtc.RTPCodecType, n uint16) (float64, bool) {
		v, ok := ts[kind][n]
		r := reports[kind]
		return r.ntp + float64(int32(v-uint32(r.rtp)))/clock[kind], ok
	}
	compared := 0
	for n := range ts[webrtc.RTPCodecTypeVideo] {
		v, okV := wall(webrtc.RTPCodecTypeVideo, n)
		a, okA := wall(webrtc.RTPCodecTypeAudio, n)
		if !okV || !okA {
			continue
		}
		compared++
		// Each report's pair is when the Sender wrote the newest frame: within the
		// forwarding delay of the capture (a busy machine's scheduling included).
		if captured := float64(start.UnixNano())/1e9 + float64(n)*0.02; math.Abs(v-captured) > 0.5 {
			t.Fatalf("capture %d: video maps to %.3f s, captured at about %.3f s", n, v, captured)
		}
		if d := math.Abs(v - a); d > 0.1 {
			t.Fatalf("capture %d: audio and video map %.0f ms apart", n, d*1000)
		}
	}
	if compared == 0 {
		t.Fatal("no capture arrived on both tracks")
	}
}

// benchTicker is a report.Ticker the benchmark ticks by hand.
type benchTicker chan time.Time

func (t benchTicker) Ch() <-chan time.Time { return t }
func (t benchTicker) Stop()                {}

// BenchmarkSenderReports: what sender reports cost a subscriber's PeerConnection with 8
// streams, pion's interceptor against Parley's (D174), in the same binary. "packet": per
// written packet (pion: the time and the stream's lock; Parley: plain counts, the time
// every senderClockRefresh packets). "interval": one report interval, the reports built
// and handed to an RTCP writer that marshals them as pion's DTLSTransport.WriteRTCP does
// (pion: a report and a write per stream, on its own goroutine; Parley: one compound).
func BenchmarkSenderReports(b *testing.B) {
	const streams = 8
	payload := make([]byte, 1000)
	marshal := func(written *int) func([]rtcp.Packet) (int, error) {
		return func(p []rtcp.Packet) (int, error) {
			raw, err := rtcp.Marshal(p)
			*written += len(p)
			return len(raw), err
		}
	}
	b.Run("pion/packet", func(b *testing.B) {
		f, _ := report.NewSenderInterceptor()
		i, _ := f.NewInterceptor("")
		defer func() { _ = i.Close() }()
		w := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 1, ClockRate: 90000}, &countingRTPWriter{})
		h := &rtp.Header{Version: 2, SSRC: 1}
		b.ReportAllocs()
		for b.Loop() {
			h.SequenceNumber++
			h.Timestamp = uint32(h.SequenceNumber/4) * 3000
			_, _ = w.Write(h, payload, nil)
		}
	})
	b.Run("parley/packet", func(b *testing.B) {
		var s srState
		var seq uint16
		var now int64
		b.ReportAllocs()
		for b.Loop() {
			if seq++; seq%senderClockRefresh == 0 {
				now = time.Now().UnixNano()
			}
			s.onWrite(seq, uint32(seq/4)*3000, len(payload), now)
		}
	})
	b.Run("pion/interval", func(b *testing.B) {
		tick := make(benchTicker)
		f, _ := report.NewSenderInterceptor(report.SenderTicker(func(time.Duration) report.Ticker { return tick }))
		i, _ := f.NewInterceptor("")
		var written int
		done := make(chan struct{}, 1)
		write := marshal(&written)
		i.BindRTCPWriter(interceptor.RTCPWriterFunc(func(p []rtcp.Packet, _ interceptor.Attributes) (int, error) {
			n, err := write(p)
			if written%streams == 0 {
				done <- struct{}{}
			}
			return n, err
		}))
		for ssrc := uint32(1); ssrc <= streams; ssrc++ {
			w := i.BindLocalStream(&interceptor.StreamInfo{SSRC: ssrc, ClockRate: 90000}, &countingRTPWriter{})
			_, _ = w.Write(&rtp.Header{Version: 2, SSRC: ssrc, SequenceNumber: 1, Timestamp: 3000}, payload, nil)
		}
		b.ReportAllocs()
		for b.Loop() {
			tick <- time.Now()
			<-done
		}
		_ = i.Close()
	})
	b.Run("parley/interval", func(b *testing.B) {
		tracks := reportTracks(streams)
		var written int
		r := &senderReports{tracks: func() []*DownTrack { return tracks }, out: rtcpCompound{write: marshal(&written)}}
		now := time.Now().UnixNano()
		b.ReportAllocs()
		for b.Loop() {
			now += int64(senderReportInterval)
			r.send(now)
		}
	})
}
