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
	return &nackReporter{
		policy:     f.policy,
		logger:     f.logger,
		senderSSRC: rand.Uint32(),
		streams:    make(map[uint32]*receivedStream),
		ticks:      newTickLoop(),
	}, nil
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
// goroutine (one per PeerConnection, started by BindRTCPWriter) owns the scratch slices.
type nackReporter struct {
	interceptor.NoOp
	policy     nackPolicy
	logger     *slog.Logger
	senderSSRC uint32

	mu      sync.Mutex // guards streams and ticks.closed
	streams map[uint32]*receivedStream
	ticks   tickLoop
}

// BindRTCPWriter starts the feedback goroutine (once per PeerConnection).
func (f *nackReporter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	var (
		tick    int
		streams []*receivedStream
		missing = make([]uint16, 0, nackLogSize)
	)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ticks.startLocked(nackInterval, func() {
		tick++
		streams = f.send(w, tick%receiverReportTicks == 0, streams, missing)
	})
	return w
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
	f.mu.Unlock()
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err == nil {
			s.onRTP(b[:n], time.Now().UnixNano())
		}
		return n, a, err
	})
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

// send writes the NACKs (and, when report is set, the receiver reports) of every stream;
// streams and missing are the feedback goroutine's scratch slices.
func (f *nackReporter) send(w interceptor.RTCPWriter, report bool, streams []*receivedStream, missing []uint16) []*receivedStream {
	f.mu.Lock()
	streams = streams[:0]
	for _, s := range f.streams {
		streams = append(streams, s)
	}
	f.mu.Unlock()
	now := time.Now().UnixNano()
	for _, s := range streams {
		pkts := f.feedback(s, now, report, missing)
		if len(pkts) == 0 {
			continue
		}
		if _, err := w.Write(pkts, nil); err != nil {
			f.logger.Debug("publisher feedback not sent", "ssrc", s.ssrc, "err", err)
		}
	}
	clear(streams) // hold no stream past its unbinding
	return streams
}

// feedback is what stream s gets at now: a NACK for its missing packets and, when report
// is set, a receiver report.
func (f *nackReporter) feedback(s *receivedStream, now int64, report bool, scratch []uint16) []rtcp.Packet {
	var pkts []rtcp.Packet
	s.mu.Lock()
	defer s.mu.Unlock()
	if report && s.rx.started { // a compound starts with its report (RFC 3550 section 6.1)
		pkts = append(pkts, &rtcp.ReceiverReport{SSRC: f.senderSSRC, Reports: []rtcp.ReceptionReport{s.rx.report(s.ssrc, now)}})
	}
	if s.nack != nil {
		if missing := s.nack.collect(now, scratch[:0]); len(missing) > 0 {
			pkts = append(pkts, &rtcp.TransportLayerNack{
				SenderSSRC: f.senderSSRC, MediaSSRC: s.ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(missing),
			})
		}
	}
	return pkts
}

// Close stops the feedback goroutine. Idempotent.
func (f *nackReporter) Close() error {
	f.mu.Lock()
	f.ticks.stopLocked()
	f.mu.Unlock()
	f.ticks.wait()
	return nil
}
