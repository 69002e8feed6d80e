package sfu

import (
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// Receiver reports go out every receiverReportTicks NACK intervals (1 s, pion's report
// interval).
const receiverReportTicks = 10

// nackReporterFactory makes one nackReporter per PeerConnection
// (interceptor.Factory). It replaces pion's NACK generator and receiver-report
// interceptors (D113): both parsed every packet into an Attributes map and an rtp.Header
// (allocations per received packet); this one reads the sequence number and timestamp in
// place.
type nackReporterFactory struct {
	policy nackPolicy
	logger *slog.Logger
}

func (f *nackReporterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return f.newReporter(newTickLoop(nackInterval)), nil
}

// newReporter makes a nackReporter that ticks on loop (publisherFeedbackFactory shares it
// with the PeerConnection's transport-wide feedback sender).
func (f *nackReporterFactory) newReporter(loop *tickLoop) *nackReporter {
	return &nackReporter{
		policy:     f.policy,
		logger:     f.logger,
		senderSSRC: rand.Uint32(),
		streams:    make(map[uint32]*receivedStream),
		ticks:      loop.join(),
	}
}

// receivedStream is the receive state of one remote stream: written by the stream's
// read goroutine (pion's, through TrackRemote.Read), read by the feedback goroutine;
// mu guards both logs.
type receivedStream struct {
	ssrc uint32
	mu   sync.Mutex
	nack *nackLog // nil when the stream did not negotiate NACK
	rx   receptionStats
}

// onRTP accounts one RTP packet read at now. No allocation.
func (s *receivedStream) onRTP(pkt []byte, now int64) {
	seq, ts, ok := rtpSeqTimestamp(pkt)
	if !ok {
		return
	}
	s.mu.Lock()
	if s.nack != nil {
		s.nack.add(seq, now)
	}
	s.rx.add(seq, ts, now)
	s.mu.Unlock()
}

// rtpSeqTimestamp reads the sequence number and timestamp of RTP packet pkt; false when
// it is too short or not version 2.
func rtpSeqTimestamp(pkt []byte) (seq uint16, ts uint32, ok bool) {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(pkt[2:4]), binary.BigEndian.Uint32(pkt[4:8]), true
}

// nackReporter sends NACKs and receiver reports for the streams a publisher sends.
// The stream map is guarded by mu; each stream's state by its own lock; the feedback
// goroutine (one per PeerConnection, shared with the transport-wide feedback sender,
// tickloop.go, D334; it ticks the reporter from its first remote stream) owns the scratch
// slices.
type nackReporter struct {
	interceptor.NoOp
	policy     nackPolicy
	logger     *slog.Logger
	senderSSRC uint32

	ticks *tickMember // the feedback goroutine's (tickloop.go)

	mu      sync.Mutex // guards streams, writer and started
	streams map[uint32]*receivedStream
	writer  interceptor.RTCPWriter
	started bool
}

// nackScratch is the feedback goroutine's: the streams, reports, missing sequence numbers
// and NACK pairs of one send, reused.
type nackScratch struct {
	streams []*receivedStream
	reports []rtcp.ReceptionReport
	missing []uint16
	pairs   []rtcp.NackPair
}

// BindRTCPWriter keeps the PeerConnection's RTCP writer for the feedback goroutine, which
// the first remote stream starts (a subscriber's PeerConnection, which receives no
// media, runs none).
func (f *nackReporter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	f.mu.Lock()
	f.writer = w
	f.mu.Unlock()
	return w
}

// startLocked has the feedback goroutine tick the reporter, once. Caller holds f.mu.
func (f *nackReporter) startLocked() {
	if f.started || f.writer == nil {
		return
	}
	f.started = true
	w := f.writer
	var (
		tick int
		sc   = &nackScratch{missing: make([]uint16, 0, nackLogSize), pairs: make([]rtcp.NackPair, 0, nackLogSize)}
		out  = &rtcpCompound{write: func(p []rtcp.Packet) (int, error) { return w.Write(p, nil) }}
	)
	f.ticks.start(func() {
		tick++
		f.send(out, tick%receiverReportTicks == 0, sc, time.Now().UnixNano())
	})
}

// BindRemoteStream accounts each packet of the stream as it is read.
func (f *nackReporter) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	s := &receivedStream{ssrc: info.SSRC, rx: receptionStats{clockRate: float64(info.ClockRate)}}
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			s.nack = newNACKLog(f.policy)
		}
	}
	f.mu.Lock()
	f.streams[info.SSRC] = s
	f.startLocked()
	f.mu.Unlock()
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err == nil {
			s.onRTP(b[:n], time.Now().UnixNano())
		}
		return n, a, err
	})
}

// stream is the receive state of remote stream ssrc, nil when pion has not bound it.
func (f *nackReporter) stream(ssrc uint32) *receivedStream {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.streams[ssrc]
}

// UnbindRemoteStream forgets the stream.
func (f *nackReporter) UnbindRemoteStream(info *interceptor.StreamInfo) {
	f.mu.Lock()
	delete(f.streams, info.SSRC)
	f.mu.Unlock()
}

// BindRTCPReader notes the publisher's sender reports (for the receiver reports' LSR and
// DLSR), read in place.
func (f *nackReporter) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return readingRTCP(reader, f.onRTCP)
}

// readingRTCP wraps reader: each compound RTCP packet read is passed to note with the
// time it was read (UnixNano).
func readingRTCP(reader interceptor.RTCPReader, note func(raw []byte, now int64)) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err == nil {
			note(b[:n], time.Now().UnixNano())
		}
		return n, a, err
	})
}

// onRTCP finds the sender reports in compound RTCP packet raw. No allocation.
func (f *nackReporter) onRTCP(raw []byte, now int64) {
	for {
		pkt, rest, ok := nextRTCP(raw)
		if !ok {
			return
		}
		raw = rest
		if len(pkt) < 16 || pkt[1] != uint8(rtcp.TypeSenderReport) {
			continue
		}
		f.mu.Lock()
		s := f.streams[binary.BigEndian.Uint32(pkt[4:8])]
		f.mu.Unlock()
		if s != nil {
			s.mu.Lock()
			s.rx.senderReport(binary.BigEndian.Uint64(pkt[8:16]), now)
			s.mu.Unlock()
		}
	}
}

// send writes, at now, the receiver reports of every stream (when report is set) and the
// NACKs of every stream with missing packets as one compound RTCP packet (more when they
// take more than one datagram): the report first (RFC 3550 section 6.1), then the NACKs.
// No allocation here once sc has grown (pion's write path copies and encrypts).
func (f *nackReporter) send(out *rtcpCompound, report bool, sc *nackScratch, now int64) {
	f.mu.Lock()
	sc.streams = sc.streams[:0]
	for _, s := range f.streams {
		sc.streams = append(sc.streams, s)
	}
	f.mu.Unlock()
	if report {
		sc.reports = sc.reports[:0]
		for _, s := range sc.streams {
			s.mu.Lock()
			if s.rx.started {
				sc.reports = append(sc.reports, s.rx.report(s.ssrc, now))
			}
			s.mu.Unlock()
		}
		for rs := sc.reports; len(rs) > 0; {
			n := min(len(rs), maxReceptionReports)
			b := out.reserve(rtcpHeaderSize + 4 + receptionReportSize*n)
			out.b = appendReceiverReport(b, f.senderSSRC, rs[:n])
			rs = rs[n:]
		}
	}
	for _, s := range sc.streams {
		missing := sc.missing[:0]
		s.mu.Lock()
		if s.nack != nil {
			missing = s.nack.collect(now, missing)
		}
		s.mu.Unlock()
		for pairs := nackPairs(sc.pairs[:0], missing); len(pairs) > 0; {
			n := min(len(pairs), (len(out.buf)-nackHeaderSize)/nackPairSize)
			b := out.reserve(nackHeaderSize + nackPairSize*n)
			out.b = appendNACK(b, f.senderSSRC, s.ssrc, pairs[:n])
			pairs = pairs[n:]
		}
	}
	out.flush()
	clear(sc.streams) // hold no stream past its unbinding
}

// Close stops the reporter's feedback ticks. Idempotent.
func (f *nackReporter) Close() error {
	if f.ticks != nil {
		f.ticks.stop()
	}
	return nil
}
