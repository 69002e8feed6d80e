package sfu

import (
	"encoding/binary"
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/parley-rtc/parley/sfu/audiolevel"
	"github.com/parley-rtc/parley/sfu/quality"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Link statistics: what the server receives from a publisher (uplink, per Receiver) and
// what a subscriber says it receives (downlink, per DownTrack, from its RTCP receiver
// reports). The room's quality and volume tickers read them through the accessors below;
// every field they read is an atomic, so the packet and RTCP goroutines never take a lock
// and never allocate for them.
//
// Uplink RTT: the server sends no RTP on a publisher PeerConnection, so no sender report
// of ours exists there for a publisher's receiver report to refer to, and publishers do
// not send RTCP XR. UplinkStats therefore carries no RTT; the quality estimator scores the
// uplink with the RTT measured on the same user's downlink (quality.Estimator uses the
// largest RTT among a user's samples).

// uplinkCounters belongs to one Receiver. The fields above the atomics are written by the
// Receiver's read goroutine only (audioLevelID before it starts).
type uplinkCounters struct {
	audioLevelID uint8 // negotiated ssrc-audio-level extension ID; 0 = none
	sequence     quality.SequenceTracker
	jitter       quality.JitterEstimator
	started      bool
	highest      uint16 // highest sequence number fed to the jitter estimator

	packets    atomic.Uint64
	bytes      atomic.Uint64
	lastPacket atomic.Int64 // UnixNano; 0 = none
	lastRTCP   atomic.Int64 // UnixNano of the last RTCP packet from the publisher; 0 = none
	meter      audiolevel.Meter
}

// jitterReorderLimit: a packet this far behind the highest sequence number counts as a
// sender restart and is fed to the jitter estimator; nearer ones are reordered packets or
// retransmissions, whose arrival time says nothing about the network's jitter.
const jitterReorderLimit = 1024

// observe accounts one parsed packet. Receiver read goroutine only; no allocation.
func (u *uplinkCounters) observe(raw []byte, p *rtpPacket, clockRate uint32, now time.Time) {
	u.packets.Add(1)
	u.bytes.Add(uint64(len(raw)))
	u.lastPacket.Store(now.UnixNano())
	u.sequence.Observe(p.SequenceNumber)
	if delta := int16(p.SequenceNumber - u.highest); !u.started || delta > 0 || delta < -jitterReorderLimit {
		u.started = true
		u.highest = p.SequenceNumber
		u.jitter.Observe(p.Timestamp, now, clockRate)
	}
	if u.audioLevelID != 0 {
		if payload, ok := headerExtension(raw, u.audioLevelID); ok {
			if level, _, ok := audiolevel.Parse(payload); ok {
				u.meter.Observe(level, now)
			}
		}
	}
}

// UplinkStats is a snapshot of what the server received on one published track. Counters
// are cumulative since the track started; the caller takes differences between two
// snapshots for a window.
type UplinkStats struct {
	Kind webrtc.RTPCodecType
	// Packets and Bytes count every RTP packet read, duplicates included.
	Packets uint64
	Bytes   uint64
	// Sequence counts expected, received and lost packets from the sequence numbers.
	Sequence quality.SequenceSnapshot
	// Jitter is the RFC 3550 interarrival jitter.
	Jitter time.Duration
	// LastPacket and LastRTCP are the arrival times of the last RTP and RTCP packets from
	// the publisher; zero when none arrived.
	LastPacket time.Time
	LastRTCP   time.Time
}

// Stats returns the track's uplink statistics; a simulcast track's are the sum of its
// layers' counters, the largest jitter and the latest times. Safe from any goroutine;
// lock-free.
func (r *Receiver) Stats() UplinkStats {
	out := r.uplink.stats()
	if r.sim != nil {
		for _, l := range r.sim.layers {
			s := l.uplink.stats()
			out.Packets += s.Packets
			out.Bytes += s.Bytes
			out.Sequence.Expected += s.Sequence.Expected
			out.Sequence.Received += s.Sequence.Received
			out.Sequence.Duplicates += s.Sequence.Duplicates
			out.Sequence.Late += s.Sequence.Late
			out.Jitter = max(out.Jitter, s.Jitter)
			out.LastPacket = latestTime(out.LastPacket, s.LastPacket)
			out.LastRTCP = latestTime(out.LastRTCP, s.LastRTCP)
		}
	}
	out.Kind = r.kind
	return out
}

func (u *uplinkCounters) stats() UplinkStats {
	return UplinkStats{
		Packets:    u.packets.Load(),
		Bytes:      u.bytes.Load(),
		Sequence:   u.sequence.Snapshot(),
		Jitter:     u.jitter.Jitter(),
		LastPacket: unixNanoTime(u.lastPacket.Load()),
		LastRTCP:   unixNanoTime(u.lastRTCP.Load()),
	}
}

func latestTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Volume closes the current volume interval of an audio track and returns its voice
// volume 0..100 (mapping documented in package audiolevel: -20 dBov steady → 67, silence,
// no packets for 1 s, or muted → 0). Call it from one goroutine (the room's volume
// ticker); always 0 for video.
func (r *Receiver) Volume(now time.Time) int {
	return r.uplink.meter.Volume(now)
}

// SetMuted mutes the volume meter of the track: a muted track's Volume is 0 and its audio
// levels are ignored until it is unmuted. Safe from any goroutine.
func (r *Receiver) SetMuted(muted bool) {
	if r.uplink.meter.Muted() != muted {
		r.uplink.meter.SetMuted(muted)
	}
}

// audioLevelExtensionID returns the ID the publisher's PeerConnection negotiated for the
// ssrc-audio-level header extension, 0 when it did not.
func audioLevelExtensionID(rtpReceiver *webrtc.RTPReceiver) uint8 {
	for _, ext := range rtpReceiver.GetParameters().HeaderExtensions {
		if ext.URI == sdp.AudioLevelURI && ext.ID > 0 && ext.ID < 256 {
			return uint8(ext.ID)
		}
	}
	return 0
}

// headerExtension finds the element with the given ID in the header extension block of
// a raw RTP packet (RFC 8285 one-byte or two-byte form) without allocating; the payload
// aliases raw. ok is false when the packet has no such element or is malformed.
func headerExtension(raw []byte, id uint8) (payload []byte, ok bool) {
	const fixedHeader = 12
	if id == 0 || len(raw) < fixedHeader || raw[0]>>6 != 2 || raw[0]&0x10 == 0 {
		return nil, false
	}
	offset := fixedHeader + 4*int(raw[0]&0x0f)
	if offset+4 > len(raw) {
		return nil, false
	}
	profile := binary.BigEndian.Uint16(raw[offset:])
	end := offset + 4 + 4*int(binary.BigEndian.Uint16(raw[offset+2:]))
	if end > len(raw) {
		return nil, false
	}
	block := raw[offset+4 : end]
	switch {
	case profile == 0xBEDE: // one-byte elements: ID (4 bits), length-1 (4 bits)
		if id > 14 {
			return nil, false
		}
		for i := 0; i < len(block); {
			elementID, length := block[i]>>4, int(block[i]&0x0f)+1
			switch {
			case elementID == 0: // padding
				i++
				continue
			case elementID == 15: // reserved: stop
				return nil, false
			}
			start := i + 1
			if start+length > len(block) {
				return nil, false
			}
			if elementID == id {
				return block[start : start+length : start+length], true
			}
			i = start + length
		}
	case profile&0xFFF0 == 0x1000: // two-byte elements: ID (8 bits), length (8 bits)
		for i := 0; i < len(block); {
			if block[i] == 0 { // padding
				i++
				continue
			}
			if i+2 > len(block) {
				return nil, false
			}
			elementID, length := block[i], int(block[i+1])
			start := i + 2
			if start+length > len(block) {
				return nil, false
			}
			if elementID == id {
				return block[start : start+length : start+length], true
			}
			i = start + length
		}
	}
	return nil, false
}

// downlinkCounters belongs to one DownTrack; its RTCP goroutine is the only writer. The
// report fields are published under a sequence lock (version is odd while they change) so
// a reader sees one report's values together.
type downlinkCounters struct {
	version      atomic.Uint64
	reports      atomic.Uint64
	fractionLost atomic.Uint32
	totalLost    atomic.Uint32
	highest      atomic.Uint32 // extended highest sequence number received
	jitterUnits  atomic.Uint32
	rtt          atomic.Int64 // nanoseconds; 0 = unknown
	lastReport   atomic.Int64 // UnixNano

	nacks    atomic.Uint64 // packets the subscriber asked for again
	plis     atomic.Uint64 // PLI and FIR
	lastRTCP atomic.Int64  // UnixNano; 0 = none
}

// observeRTCP accounts one compound RTCP packet from the subscriber. ssrc is the SSRC the
// DownTrack sends with (0 when not bound yet: reports are then not about it). DownTrack
// RTCP goroutine only.
func (c *downlinkCounters) observeRTCP(pkts []rtcp.Packet, ssrc uint32, now time.Time) {
	c.lastRTCP.Store(now.UnixNano())
	for _, pkt := range pkts {
		switch p := pkt.(type) {
		case *rtcp.TransportLayerNack:
			var n uint64
			for _, pair := range p.Nacks {
				n += 1 + uint64(bits.OnesCount16(uint16(pair.LostPackets)))
			}
			c.nacks.Add(n)
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			c.plis.Add(1)
		case *rtcp.ReceiverReport:
			c.observeReports(p.Reports, ssrc, now)
		case *rtcp.SenderReport:
			c.observeReports(p.Reports, ssrc, now)
		}
	}
}

// observeReports publishes the report block about ssrc, if any. The RTT is
// NTP(now) - LSR - DLSR, LSR referring to the sender report the report interceptor sent.
func (c *downlinkCounters) observeReports(reports []rtcp.ReceptionReport, ssrc uint32, now time.Time) {
	for i := range reports {
		rr := &reports[i]
		if ssrc == 0 || rr.SSRC != ssrc {
			continue
		}
		rtt := c.rtt.Load()
		if rr.LastSenderReport != 0 {
			units := ntpShort(now) - rr.LastSenderReport - rr.Delay
			if d := time.Duration(uint64(units) * uint64(time.Second) >> 16); d > 0 && d < 10*time.Second {
				rtt = int64(d)
			}
		}
		c.version.Add(1)
		c.reports.Add(1)
		c.fractionLost.Store(uint32(rr.FractionLost))
		c.totalLost.Store(rr.TotalLost)
		c.highest.Store(rr.LastSequenceNumber)
		c.jitterUnits.Store(rr.Jitter)
		c.rtt.Store(rtt)
		c.lastReport.Store(now.UnixNano())
		c.version.Add(1)
	}
}

// DownTrackStats is a snapshot of what one subscriber reported about one DownTrack.
// Report fields are those of the latest receiver report; counters are cumulative.
type DownTrackStats struct {
	// Track identifies the DownTrack (a stable key for window differences).
	Track *DownTrack
	Kind  webrtc.RTPCodecType
	// Reports counts the receiver report blocks about this track; the fields below it
	// come from the latest one (zero before the first).
	Reports         uint64
	FractionLost    uint8  // loss since the previous report, * 256
	TotalLost       uint32 // cumulative packets lost (24 bits)
	ExtendedHighest uint32 // extended highest sequence number received
	Jitter          time.Duration
	// RTT is the latest round-trip time measured from a report; 0 = unknown.
	RTT        time.Duration
	LastReport time.Time
	// NACKed counts packets the subscriber asked for again; PLIs counts PLI and FIR.
	NACKed uint64
	PLIs   uint64
	// LastRTCP is the arrival time of the last RTCP packet about this track; zero = none.
	LastRTCP time.Time
}

// Stats returns the downlink statistics of the DownTrack. Safe from any goroutine;
// lock-free.
func (d *DownTrack) Stats() DownTrackStats {
	c := &d.downlink
	s := DownTrackStats{Track: d, Kind: d.receiver.Kind()}
	for {
		before := c.version.Load()
		if before&1 == 0 {
			s.Reports = c.reports.Load()
			s.FractionLost = uint8(c.fractionLost.Load())
			s.TotalLost = c.totalLost.Load()
			s.ExtendedHighest = c.highest.Load()
			s.Jitter = rtpUnitsToDuration(c.jitterUnits.Load(), d.codec.ClockRate)
			s.RTT = time.Duration(c.rtt.Load())
			s.LastReport = unixNanoTime(c.lastReport.Load())
			if c.version.Load() == before {
				break
			}
		}
		runtime.Gosched() // the RTCP goroutine is mid-update
	}
	s.NACKed = c.nacks.Load()
	s.PLIs = c.plis.Load()
	s.LastRTCP = unixNanoTime(c.lastRTCP.Load())
	return s
}

// DownlinkStats is what one subscriber Peer's RTCP says about everything it receives.
type DownlinkStats struct {
	Tracks []DownTrackStats
	// LastRTCP is the latest LastRTCP of the tracks; zero when none reported.
	LastRTCP time.Time
}

// DownlinkStats returns the statistics of every current DownTrack of the Subscriber. It allocates its result; it is meant for a periodic ticker.
func (p *Subscriber) DownlinkStats() DownlinkStats {
	p.mu.Lock()
	tracks := make([]*DownTrack, 0, len(p.downTracks))
	if !p.closed { // a closed Peer keeps its DownTracks only for its totals (totals.go)
		for d := range p.downTracks {
			tracks = append(tracks, d)
		}
	}
	p.mu.Unlock()
	out := DownlinkStats{Tracks: make([]DownTrackStats, 0, len(tracks))}
	for _, d := range tracks {
		s := d.Stats()
		if s.LastRTCP.After(out.LastRTCP) {
			out.LastRTCP = s.LastRTCP
		}
		out.Tracks = append(out.Tracks, s)
	}
	return out
}

func rtpUnitsToDuration(units, clockRate uint32) time.Duration {
	if clockRate == 0 {
		return 0
	}
	return time.Duration(uint64(units) * uint64(time.Second) / uint64(clockRate))
}

func unixNanoTime(nanos int64) time.Time {
	if nanos == 0 {
		return time.Time{}
	}
	return time.Unix(0, nanos)
}
