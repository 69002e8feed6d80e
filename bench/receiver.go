package bench

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
)

// Offsets in the client's synthetic block (client/payload.go): magic "PY", kind, flags,
// seq (4), frame (4), sent-at unix ns (8), filler length (2).
const (
	synthHeaderLen   = 22
	synthFlagsOffset = 3
	synthSentOffset  = 12
)

// keyframeRequestInterval spaces the PLIs of a video track that has not had a keyframe.
const keyframeRequestInterval = 300 * time.Millisecond

// receiver is one participant's subscriber PeerConnection: it answers the server's offers
// and measures every packet of every track cheaply (no payload verification beyond the
// first packets that decide whether a track is synthetic: the client package's
// Subscriber does that in tests; here the bench must cost little CPU per packet). Local candidates wait until the first answer was sent; remote candidates wait
// until the first offer is applied (the trickle races).
//
// The offer/answer methods run on the Conn's handler goroutine; pion's OnTrack goroutine
// becomes that track's read loop and alone writes its trackReader; mu guards the trickle
// state.
type receiver struct {
	pc    *webrtc.PeerConnection
	meter *meter

	// onFirstPacket is called once, from a read loop, when the first packet arrives;
	// onTrackFirstPacket once per track, with its publisher's user ID and kind;
	// onFirstKeyframe once per video track with the publisher's user ID, at the first
	// packet of its first keyframe; onKeyframeComplete once, when a keyframe's packets
	// all came (keyframeAssembly: it could be decoded).
	onFirstPacket      func(at time.Time)
	onTrackFirstPacket func(publisher string, kind webrtc.RTPCodecType, at time.Time)
	onFirstKeyframe    func(publisher string, at time.Time)
	onKeyframeComplete func(publisher string, at time.Time)
	firstPacket        sync.Once

	trickle *client.Trickle

	// connected is closed when the PeerConnection first reaches connected.
	connected <-chan struct{}

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newReceiver(api *webrtc.API, cfg webrtc.Configuration, m *meter) (*receiver, error) {
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: subscriber peer connection: %w", err)
	}
	r := &receiver{pc: pc, meter: m, trickle: client.NewTrickle(pc)}
	pc.OnTrack(r.handleTrack)
	r.connected, _ = client.WatchConnection(pc.OnConnectionStateChange)
	return r, nil
}

// setOnLocal sets where local candidates go once the first answer was sent.
func (r *receiver) setOnLocal(fn func(webrtc.ICECandidateInit)) { r.trickle.OnLocal(fn) }

// handleOffer applies a server offer and returns the answer.
func (r *receiver) handleOffer(sdp string) (string, error) {
	if err := r.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return "", fmt.Errorf("bench: subscriber offer: %w", err)
	}
	if err := r.trickle.RemoteDescriptionSet(); err != nil {
		return "", fmt.Errorf("bench: queued subscriber candidate: %w", err)
	}
	answer, err := r.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("bench: subscriber answer: %w", err)
	}
	if err := r.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("bench: subscriber local answer: %w", err)
	}
	return answer.SDP, nil
}

// answerSent releases the local candidates held back until the first answer was sent.
func (r *receiver) answerSent() { r.trickle.MarkLocalSent() }

// addCandidate adds a server candidate, queueing it until the first offer is applied.
func (r *receiver) addCandidate(c webrtc.ICECandidateInit) error {
	if err := r.trickle.AddRemote(c); err != nil {
		return fmt.Errorf("bench: subscriber candidate: %w", err)
	}
	return nil
}

// close closes the PeerConnection and waits for the read loops; idempotent.
func (r *receiver) close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	err := r.pc.Close()
	r.wg.Wait()
	return err
}

func (r *receiver) handleTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()
	t := &trackReader{publisher: track.StreamID(), kind: track.Kind(), ssrc: uint32(track.SSRC())}
	r.meter.addTrack(t)
	t.read(track, r)
}

// trackReader measures one remote track. The read loop owns every field but the
// atomics, which the meter reads.
type trackReader struct {
	publisher string
	kind      webrtc.RTPCodecType
	ssrc      uint32

	packets  atomic.Uint64
	jitterNs atomic.Int64

	started bool
	highest uint64 // extended RTP sequence number
	lastSeq uint16
	// source is decided from the first packets with a payload (client.ClassifyBlock):
	// synthetic blocks carry the send time, real media (a publisher's media file) does not.
	source client.MediaSource
	jitter client.Jitter // RFC 3550, from the RTP timestamps
}

func (t *trackReader) read(track *webrtc.TrackRemote, r *receiver) {
	m := r.meter
	buf := make([]byte, 1500)
	var hdr rtp.Header
	video := t.kind == webrtc.RTPCodecTypeVideo
	// The video's framing follows the negotiated codec (VP8 or H.264); an unknown one
	// makes every packet count as padding.
	codec, _ := client.VideoCodecOfMimeType(track.Codec().MimeType)
	t.jitter = client.NewJitter(track.Codec().ClockRate)
	waitingKeyframe := video
	var assembly keyframeAssembly // until one keyframe came whole
	assembling := video
	var lastPLI time.Time
	firstSeen := false
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		hlen, err := hdr.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		r.firstPacket.Do(func() {
			if r.onFirstPacket != nil {
				r.onFirstPacket(now)
			}
		})
		if !firstSeen {
			firstSeen = true
			if r.onTrackFirstPacket != nil {
				r.onTrackFirstPacket(t.publisher, t.kind, now)
			}
		}
		t.packets.Add(1)
		m.packets.Add(1)
		m.bytes.Add(uint64(n))
		newest := t.countSequence(hdr.SequenceNumber, m)
		if assembling {
			assembly.next(hdr.SequenceNumber)
		}
		if newest {
			t.jitter.Observe(hdr.Timestamp, now)
			t.jitterNs.Store(int64(t.jitter.Value()))
		}
		payload := buf[hlen:n]
		if hdr.Padding && len(payload) > 0 {
			payload = payload[:max(len(payload)-int(payload[len(payload)-1]), 0)]
		}
		if len(payload) == 0 {
			m.padding.Add(1)
			continue
		}
		keyStart, counted := t.observePayload(video, codec, payload, now, m)
		if !counted {
			m.padding.Add(1)
			continue
		}
		if !video {
			continue
		}
		if newest && hdr.Marker {
			m.frames.Add(1)
		}
		if keyStart {
			m.keyframes.Add(1)
		}
		if keyStart && waitingKeyframe {
			waitingKeyframe = false
			if r.onFirstKeyframe != nil {
				r.onFirstKeyframe(t.publisher, now)
			}
		}
		if assembling && assembly.frame(keyStart, hdr.Marker, hdr.SequenceNumber) {
			assembling = false
			if r.onKeyframeComplete != nil {
				r.onKeyframeComplete(t.publisher, now)
			}
		}
		if waitingKeyframe && now.Sub(lastPLI) >= keyframeRequestInterval {
			lastPLI = now
			_ = r.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}})
		}
	}
}

// observePayload measures one packet's payload: the latency of a synthetic block; for
// video, whether it starts a keyframe (the block's flags, or for real media the codec
// framing). counted is false for a synthetic track's packet without a block (padding).
func (t *trackReader) observePayload(video bool, codec client.VideoCodec, payload []byte, now time.Time, m *meter) (keyStart, counted bool) {
	if t.source != client.SourceReal {
		block := payload
		var err error
		if video {
			block, err = client.VideoBlock(codec, payload)
		}
		if t.source == client.SourceUnknown && err == nil {
			t.source = client.ClassifyBlock(block)
		}
		if t.source == client.SourceSynthetic {
			if err != nil || len(block) < synthHeaderLen || block[0] != 'P' || block[1] != 'Y' {
				return false, false
			}
			sent := int64(binary.BigEndian.Uint64(block[synthSentOffset:]))
			if m.measuring.Load() {
				if video {
					m.latencyVideo.Record(now.Sub(time.Unix(0, sent)))
				} else {
					m.latencyAudio.Record(now.Sub(time.Unix(0, sent)))
				}
			}
			flags := block[synthFlagsOffset]
			return video && flags&(client.FlagKeyframe|client.FlagFrameStart) == client.FlagKeyframe|client.FlagFrameStart, true
		}
	}
	// Real media, or not decided yet: no send time; the codec framing tells keyframes.
	if !video {
		return false, true
	}
	keyStart, _ = client.VideoKeyframeStart(codec, payload)
	return keyStart, true
}

// countSequence advances the expected packet count by how far seq moves the highest
// extended sequence number seen (older packets, e.g. retransmissions, add nothing); it
// reports whether seq is the newest so far.
func (t *trackReader) countSequence(seq uint16, m *meter) bool {
	if !t.started {
		t.started = true
		t.highest = 1<<32 + uint64(seq)
		t.lastSeq = seq
		m.expected.Add(1)
		return true
	}
	ext := uint64(int64(t.highest) + int64(int16(seq-t.lastSeq)))
	if ext <= t.highest {
		return false
	}
	m.expected.Add(ext - t.highest)
	t.highest = ext
	t.lastSeq = seq
	return true
}

// keyframeAssembly tells when a keyframe's packets all came: from its first packet
// (keyStart) to its last (the RTP marker) with no sequence number missing or out of
// order (what a decoder needs; a keyframe with a gap waits for the next one). One
// read loop owns it; no allocation.
type keyframeAssembly struct {
	active bool   // within a keyframe
	broken bool   // a packet of it is missing
	want   uint16 // the next sequence number
}

// next sees every packet's sequence number, padding included, before frame.
func (k *keyframeAssembly) next(seq uint16) {
	if k.active && seq != k.want {
		k.broken = true
	}
	k.want = seq + 1
}

// frame sees a media packet: whether it starts a keyframe and ends a frame; true when
// it completes a keyframe whose packets all came.
func (k *keyframeAssembly) frame(keyStart, marker bool, seq uint16) bool {
	if keyStart {
		k.active, k.broken, k.want = true, false, seq+1
	}
	if !k.active || !marker {
		return false
	}
	k.active = false
	return !k.broken
}
