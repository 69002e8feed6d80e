package sfu

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// defaultRTT is assumed until a receiver report tells the real round-trip time.
const defaultRTT = 100 * time.Millisecond

// DownTrack is one published track as sent to one subscriber: a webrtc.TrackLocal that
// rewrites SSRC, payload type, sequence numbers and timestamps so the subscriber sees
// one continuous stream, strips the publisher's header extensions, answers the
// subscriber's NACKs from the Receiver's buffer and forwards its PLI/FIR to the publisher.
//
// State ownership: the forwarding state (fwd, history writes) belongs to the layers' read
// goroutines (forwarder.go); the RTCP fields (nack, rtt) belong to the subscriber
// Peer's RTCP goroutine (rtcpreader.go); binding is atomic (pion binds from its own goroutines and the Sender
// reads it), and so is overwritten (the Sender sets it, forwarding takes it).
type DownTrack struct {
	receiver *Receiver
	sender   *Sender
	peer     *Subscriber // nil in unit tests
	codec    webrtc.RTPCodecParameters
	isVideo  bool

	binding   atomic.Pointer[downTrackBinding]
	rtpSender *webrtc.RTPSender // set once by the subscriber Peer under its lock

	// overwritten: the Sender dropped a queued packet whose buffer slot was reused before
	// it could write it; forwarding then waits for a keyframe (takeOverwritten).
	overwritten atomic.Bool

	// Layers' read goroutines (forwarder.go); next to each other, hot fields first.
	history *seqHistory
	fwd     forwarder

	// RTCP goroutine.
	nack *nackResponder
	rtt  time.Duration

	sr srState // the Sender goroutine's: what its sender reports say (senderreport.go)

	downlink downlinkCounters // what the subscriber reports (linkstats.go)

	// First packet queued (timeline.go): set once by the forwarding goroutine.
	firstSentNs atomic.Int64
	firstFired  atomic.Bool
	onFirstSent atomic.Pointer[func(time.Time)]
}

// downTrackBinding is what the subscriber's PeerConnection negotiated for the track.
type downTrackBinding struct {
	ssrc        uint32
	payloadType uint8
	writer      webrtc.TrackLocalWriter
}

func newDownTrack(r *Receiver, s *Sender, p *Subscriber) *DownTrack {
	size := r.buffer.size()
	d := &DownTrack{
		receiver: r,
		sender:   s,
		peer:     p,
		codec:    r.codec,
		isVideo:  r.kind == webrtc.RTPCodecTypeVideo,
		history:  newSeqHistory(size),
		nack:     newNACKResponder(size),
		rtt:      defaultRTT,
	}
	d.fwd.init(r.codec, r.kind, r.sim != nil)
	d.fwd.m.rw.startAt(uint16(rand.Uint32()), rand.Uint32())
	return d
}

// Receiver is the published track this DownTrack sends.
func (d *DownTrack) Receiver() *Receiver { return d.receiver }

// ID is the published track's ID (webrtc.TrackLocal).
func (d *DownTrack) ID() string { return d.receiver.TrackID() }

// RID is empty: a subscriber receives one layer of a simulcast track as one plain
// stream (webrtc.TrackLocal).
func (d *DownTrack) RID() string { return "" }

// StreamID is the publisher's participant ID (webrtc.TrackLocal).
func (d *DownTrack) StreamID() string { return d.receiver.StreamID() }

// Kind is audio or video (webrtc.TrackLocal).
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.receiver.Kind() }

// Bind picks the negotiated codec that matches the published one (webrtc.TrackLocal).
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, ok := matchCodec(d.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, fmt.Errorf("bind %s for subscriber: %s: %w",
			d.ID(), d.codec.MimeType, ErrCodecNotNegotiated)
	}
	d.binding.Store(&downTrackBinding{
		ssrc:        uint32(ctx.SSRC()),
		payloadType: uint8(codec.PayloadType),
		writer:      ctx.WriteStream(),
	})
	if d.isVideo {
		d.requestKeyframe(time.Now())
	}
	return codec, nil
}

// Unbind stops sending (webrtc.TrackLocal).
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.binding.Store(nil)
	return nil
}

// matchCodec finds want among the negotiated codecs: same mime type, and for H.264 the
// same profile and packetization mode when such a codec exists.
func matchCodec(want webrtc.RTPCodecParameters, have []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	var fallback *webrtc.RTPCodecParameters
	for i := range have {
		c := &have[i]
		if !strings.EqualFold(c.MimeType, want.MimeType) {
			continue
		}
		if !strings.EqualFold(want.MimeType, webrtc.MimeTypeH264) || h264Compatible(c.SDPFmtpLine, want.SDPFmtpLine) {
			return *c, true
		}
		if fallback == nil {
			fallback = c
		}
	}
	if fallback != nil {
		return *fallback, true
	}
	return webrtc.RTPCodecParameters{}, false
}

func h264Compatible(a, b string) bool {
	return fmtpValue(a, "packetization-mode") == fmtpValue(b, "packetization-mode") &&
		strings.EqualFold(fmtpValue(a, "profile-level-id"), fmtpValue(b, "profile-level-id"))
}

func fmtpValue(line, key string) string {
	for _, kv := range strings.Split(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// handleRTCP processes one compound RTCP packet from the subscriber. Called by the
// subscriber Peer's RTCP goroutine only (rtcpreader.go).
func (d *DownTrack) handleRTCP(raw []byte, now time.Time) {
	pkts, err := rtcp.Unmarshal(raw)
	if err != nil {
		return
	}
	d.handlePackets(pkts, now)
}

// handlePackets processes the subscriber's RTCP packets about this DownTrack. RTCP
// goroutine.
func (d *DownTrack) handlePackets(pkts []rtcp.Packet, now time.Time) {
	var ssrc uint32
	if b := d.binding.Load(); b != nil {
		ssrc = b.ssrc
	}
	d.downlink.observeRTCP(pkts, ssrc, now)
	for _, pkt := range pkts {
		switch p := pkt.(type) {
		case *rtcp.TransportLayerNack:
			for _, pair := range p.Nacks {
				d.resend(pair.PacketID, now)
				for bit := uint16(0); bit < 16; bit++ {
					if pair.LostPackets&(1<<bit) != 0 {
						d.resend(pair.PacketID+bit+1, now)
					}
				}
			}
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			d.requestKeyframe(now)
		case *rtcp.ReceiverReport:
			d.updateRTT(p.Reports, now)
		case *rtcp.SenderReport:
			d.updateRTT(p.Reports, now)
		case *rtcp.TransportLayerCC, *rtcp.ReceiverEstimatedMaximumBitrate:
			d.noteBandwidthFeedback(p, now) // bandwidth.go
		}
	}
}

// resend queues the packet sent as outSeq again, if the responder allows it.
func (d *DownTrack) resend(outSeq uint16, now time.Time) {
	inSeq, layer, outTS, ok := d.history.getLayer(outSeq)
	if !ok || !d.nack.allow(outSeq, now, d.rtt) {
		return
	}
	buffer, munge := d.resendSource(layer)
	if buffer == nil || !buffer.has(inSeq) {
		return
	}
	d.sender.enqueue(d, buffer, inSeq, outSeq, outTS, munge)
}

// updateRTT takes the round-trip time from a report block about our stream:
// RTT = now - LSR - DLSR in NTP short format (1/65536 s).
func (d *DownTrack) updateRTT(reports []rtcp.ReceptionReport, now time.Time) {
	b := d.binding.Load()
	if b == nil {
		return
	}
	for _, rr := range reports {
		if rr.SSRC != b.ssrc || rr.LastSenderReport == 0 {
			continue
		}
		units := ntpShort(now) - rr.LastSenderReport - rr.Delay
		rtt := time.Duration(uint64(units) * uint64(time.Second) >> 16)
		if rtt > 0 && rtt < 10*time.Second {
			d.rtt = max(rtt, 10*time.Millisecond)
		}
	}
}
