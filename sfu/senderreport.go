package sfu

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtcp"

	"github.com/parley-rtc/parley/internal/twccfb"
)

// Sender reports toward subscribers (RFC 3550 section 6.4.1), Parley's own (D174): pion's
// sender-report interceptor took the time and a mutex on every packet a subscriber's
// PeerConnection wrote and built, marshalled and wrote one report per stream every second.
// Here the subscriber's Sender, the one goroutine that writes the PeerConnection's RTP,
// keeps each DownTrack's counts in plain fields (srState, no lock, no atomic), and after a
// run of writes, once a second, writes the reports of all its DownTracks as one compound
// RTCP packet, serialized into a reusable buffer and handed to pion as already-written
// bytes (as the transport-wide feedback, D157).

const (
	// senderReportInterval is how often a subscriber's PeerConnection sends its sender
	// reports (pion's interval).
	senderReportInterval = time.Second
	// senderReportSize is one sender report without report blocks.
	senderReportSize = 28
	// senderReportsPerPacket bounds the reports of one compound write: 42 × 28 = 1 176
	// bytes, within twccfb.MaxFeedbackBytes (the server's RTCP datagram bound).
	senderReportsPerPacket = twccfb.MaxFeedbackBytes / senderReportSize
	// senderClockRefresh: the Sender takes the time again every this many packets of a
	// run, so the time a frame's first packet was written is off by at most the writes of
	// that many packets.
	senderClockRefresh = 16
)

// srState is what one DownTrack's sender reports are made of. Its Sender's goroutine is
// the only one that reads or writes it.
type srState struct {
	sent    bool   // a packet was written
	packets uint32 // RTP packets written (resends included, as pion counted)
	octets  uint32 // payload octets written
	lastSeq uint16 // highest sequence number written
	lastTS  uint32 // RTP timestamp of the newest frame written
	lastNs  int64  // when the first packet of that frame was written (UnixNano)
}

// onWrite accounts one packet written at nowNs. A packet older than the newest written
// (a resend) counts but moves no timestamp: the report's RTP time is extrapolated from
// when the newest frame started to go out.
func (s *srState) onWrite(seq uint16, ts uint32, payload int, nowNs int64) {
	if d := seq - s.lastSeq; !s.sent || (d != 0 && d < 0x8000) {
		s.lastSeq = seq
		if !s.sent || ts != s.lastTS {
			s.lastTS, s.lastNs = ts, nowNs
		}
		s.sent = true
	}
	s.packets++
	s.octets += uint32(payload)
}

// rtpTimeAt is the stream's RTP timestamp at nowNs, at clockRate ticks per second.
func (s *srState) rtpTimeAt(nowNs int64, clockRate uint32) uint32 {
	elapsed := nowNs - s.lastNs
	return s.lastTS + uint32(elapsed*int64(clockRate)/int64(time.Second))
}

// appendSenderReport appends the sender report of stream ssrc at nowNs (no report
// blocks: the server receives nothing on a subscriber's PeerConnection) to b.
func appendSenderReport(b []byte, ssrc uint32, s *srState, clockRate uint32, nowNs int64) []byte {
	b = append(b, 0x80, uint8(rtcp.TypeSenderReport), 0, senderReportSize/4-1)
	b = binary.BigEndian.AppendUint32(b, ssrc)
	b = binary.BigEndian.AppendUint64(b, ntpTime(time.Unix(0, nowNs)))
	b = binary.BigEndian.AppendUint32(b, s.rtpTimeAt(nowNs, clockRate))
	b = binary.BigEndian.AppendUint32(b, s.packets)
	return binary.BigEndian.AppendUint32(b, s.octets)
}

// ntpTime is the 64-bit NTP timestamp of t (seconds since 1900, 32-bit fraction).
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// ntpShort is the middle 32 bits of the NTP timestamp of t (what receiver reports echo
// as LSR).
func ntpShort(t time.Time) uint32 { return uint32(ntpTime(t) >> 16) }

// senderReports writes a subscriber's sender reports; its Sender's goroutine owns it.
type senderReports struct {
	tracks func() []*DownTrack // the Subscriber's DownTracks (copy on write)
	nextNs int64               // when the next reports are due (UnixNano)
	out    rtcpCompound        // its write is pion's DTLSTransport.WriteRTCP
}

// send writes the reports of every DownTrack that has sent, when they are due at nowNs:
// one compound RTCP packet of up to senderReportsPerPacket reports per write. No
// allocation here (pion's write path copies and encrypts the packet).
func (r *senderReports) send(nowNs int64) {
	if nowNs < r.nextNs {
		return
	}
	r.nextNs = nowNs + int64(senderReportInterval)
	for _, d := range r.tracks() {
		bind := d.binding.Load()
		if bind == nil || !d.sr.sent {
			continue // RFC 3550 6.4: a source that has sent nothing sends no sender report
		}
		b := r.out.reserve(senderReportSize)
		r.out.b = appendSenderReport(b, bind.ssrc, &d.sr, d.codec.ClockRate, nowNs)
	}
	r.out.flush()
}
