package client

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// MaxPayloadSize bounds the RTP payload of every packet the Publisher sends.
const MaxPayloadSize = 1188

// Synthetic media timing.
const (
	audioPacketInterval = 20 * time.Millisecond
	audioSamplesPer20ms = 960 // 48 kHz
	// defaultAudioPayloadSize is the Opus payload of the Publisher's default audio: a block
	// with 80 filler bytes. The bench's reference model sends 80-byte payloads
	// (ReferenceAudioPayloadSize).
	defaultAudioPayloadSize = syntheticOverheadLen + 80
	videoClockRate          = 90000
	maxVideoFPS             = 240
)

// PublisherConfig configures a Publisher. The zero value (plus Peer) publishes audio and
// video with the defaults below.
type PublisherConfig struct {
	Peer PeerConfig
	// StreamID is the msid stream id of both tracks (default "parley").
	StreamID string
	// NoAudio / NoVideo leave that track out.
	NoAudio bool
	NoVideo bool
	// AudioLevel is the RFC 6464 level written in every audio packet: 0 (loudest) ..127
	// (silence), in -dBov.
	AudioLevel uint8
	// VoiceActivity sets the V bit of the audio level.
	VoiceActivity bool
	// AudioPayloadSize is the size of every audio RTP payload, the synthetic block included
	// (default 106: the block and 80 filler bytes; at least 26, the block without filler).
	// ReferenceAudioPayloadSize is the 32 kbit/s Opus payload of the reference loads.
	AudioPayloadSize int
	// VideoCodec frames the synthetic video as VP8 (default) or H.264 (payload.go).
	VideoCodec VideoCodec
	// VideoFPS is the frame rate (default 30).
	VideoFPS int
	// VideoBitrate is the target bitrate in bits per second (default 500 kbit/s);
	// keyframes are three times the size of other frames.
	VideoBitrate int
	// KeyframeInterval is the number of frames between keyframes (default 60); a PLI or
	// FIR from the remote side forces the next frame to be a keyframe.
	KeyframeInterval int
	// Width and Height go into the keyframe header (VP8) or SPS (H.264; both even) (default
	// 640x480).
	Width, Height uint16
	// Simulcast, when set, sends the video as these rid layers (smallest first) instead
	// of one stream; VideoBitrate, Width and Height are then unused (simulcast.go).
	Simulcast []SimulcastLayer
	// VideoFile, when set, sends this VP8 file's frames (LoadIVF) at the file's pace,
	// looping, instead of synthetic video (fileplayer.go): VideoFPS, VideoBitrate,
	// KeyframeInterval, Width and Height are then unused, and a keyframe request makes the
	// next frame the file's next keyframe. One file is one stream: not with Simulcast, and
	// VP8 only. Its packets carry no synthetic block, so receivers measure no latency.
	VideoFile *IVFVideo
	// AudioFile, when set, sends this file's Opus packets (LoadOgg) at the file's pace,
	// looping, instead of synthetic audio; AudioPayloadSize is then unused, the audio level
	// extension is written as configured.
	AudioFile *OggOpus
}

func (c *PublisherConfig) setDefaults() error {
	if c.NoAudio && c.NoVideo {
		return fmt.Errorf("client: publisher with neither audio nor video: %w", ErrInvalidConfig)
	}
	if c.AudioLevel > 127 {
		return fmt.Errorf("client: audio level %d out of range 0..127: %w", c.AudioLevel, ErrInvalidConfig)
	}
	if c.VideoFPS < 0 || c.VideoBitrate < 0 || c.KeyframeInterval < 0 || c.VideoFPS > maxVideoFPS {
		return fmt.Errorf("client: video fps %d, bitrate %d, keyframe interval %d: %w",
			c.VideoFPS, c.VideoBitrate, c.KeyframeInterval, ErrInvalidConfig)
	}
	codec, err := ParseVideoCodec(string(c.VideoCodec))
	if err != nil {
		return err
	}
	c.VideoCodec = codec
	if c.VideoFile != nil && len(c.Simulcast) > 0 {
		return fmt.Errorf("client: video file %q is one stream; simulcast needs an encoding per layer: %w", c.VideoFile.Path(), ErrInvalidConfig)
	}
	if c.VideoFile != nil && codec != VideoCodecVP8 {
		return fmt.Errorf("client: video file %q is VP8, the video codec is %s: %w", c.VideoFile.Path(), codec, ErrInvalidConfig)
	}
	if c.AudioPayloadSize == 0 {
		c.AudioPayloadSize = defaultAudioPayloadSize
	}
	if c.AudioPayloadSize < syntheticOverheadLen || c.AudioPayloadSize > MaxPayloadSize {
		return fmt.Errorf("client: audio payload of %d bytes, %d..%d: %w", c.AudioPayloadSize, syntheticOverheadLen, MaxPayloadSize, ErrInvalidConfig)
	}
	if c.StreamID == "" {
		c.StreamID = "parley"
	}
	if c.VideoFPS == 0 {
		c.VideoFPS = 30
	}
	if c.VideoBitrate == 0 {
		c.VideoBitrate = 500_000
	}
	if c.KeyframeInterval == 0 {
		c.KeyframeInterval = 60
	}
	if c.Width == 0 || c.Height == 0 {
		c.Width, c.Height = 640, 480
	}
	if c.VideoCodec == VideoCodecH264 && (c.Width%2 != 0 || c.Height%2 != 0) {
		return fmt.Errorf("client: H.264 picture %dx%d: width and height must be even: %w", c.Width, c.Height, ErrInvalidConfig)
	}
	return nil
}

// PublisherStats counts what a Publisher sent.
type PublisherStats struct {
	AudioPackets     uint32 // the next audio sequence; every packet 0..AudioPackets-1 was sent
	VideoPackets     uint32 // the next video packet sequence
	VideoFrames      uint32 // with simulcast, the frames of all layers together
	Keyframes        uint32 // likewise
	KeyframeRequests uint32 // PLI and FIR received
	NACKs            uint32 // generic NACK packets received (the responder answers them)
}

// ReferenceAudioPayloadSize is the Opus payload of the reference loads: 80 bytes every
// 20 ms (32 kbit/s), synthetic block included.
const ReferenceAudioPayloadSize = 80

// Publisher is a PeerConnection that offers and sends a synthetic Opus track and a
// synthetic VP8 or H.264 track, or the frames of media files (VideoFile, AudioFile). Its
// methods are safe for concurrent use.
type Publisher struct {
	cfg     PublisherConfig
	log     *slog.Logger
	pc      *webrtc.PeerConnection
	trickle *trickle
	// closeNetwork closes the PeerConfig.Network socket after the PeerConnection.
	closeNetwork func() error

	audio, video             *webrtc.TrackLocalStaticRTP
	audioSender, videoSender *webrtc.RTPSender
	simulcast                *simulcastVideo // instead of video when PublisherConfig.Simulcast is set

	audioPackets, videoPackets, videoFrames, keyframes, keyframeRequests, nacks atomic.Uint32
	keyframeWanted                                                              atomic.Bool
	videoOff                                                                    atomic.Bool // SetVideoSending(false): the video loops send nothing

	mu       sync.Mutex
	started  bool
	closed   bool
	stop     chan struct{} // closed by Stop or Close: the send loops end
	stopOnce sync.Once
	sending  sync.WaitGroup // the send loops
	wg       sync.WaitGroup // the RTCP readers
}

// NewPublisher builds the PeerConnection and its tracks; nothing is sent until Start.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	api, parts, err := newAPI(cfg.Peer, true)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(cfg.Peer.configuration())
	if err != nil {
		_ = parts.closeNetwork()
		return nil, fmt.Errorf("client: new peer connection: %w", err)
	}
	p := &Publisher{cfg: cfg, log: cfg.Peer.logger(), pc: pc, trickle: newTrickle(pc), stop: make(chan struct{}), closeNetwork: parts.closeNetwork}
	if !cfg.NoAudio {
		if p.audio, p.audioSender, err = p.addTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio"); err != nil {
			_ = errors.Join(pc.Close(), parts.closeNetwork())
			return nil, err
		}
	}
	if !cfg.NoVideo && len(cfg.Simulcast) > 0 {
		if p.simulcast, err = p.addSimulcastVideo(); err != nil {
			_ = errors.Join(pc.Close(), parts.closeNetwork())
			p.wg.Wait()
			return nil, err
		}
	} else if !cfg.NoVideo {
		if p.video, p.videoSender, err = p.addTrack(cfg.VideoCodec.capability(), "video"); err != nil {
			_ = errors.Join(pc.Close(), parts.closeNetwork())
			return nil, err
		}
	}
	for _, s := range []*webrtc.RTPSender{p.audioSender, p.videoSender} {
		if s != nil {
			p.wg.Add(1)
			go p.readRTCP(s)
		}
	}
	return p, nil
}

func (p *Publisher) addTrack(codec webrtc.RTPCodecCapability, id string) (*webrtc.TrackLocalStaticRTP, *webrtc.RTPSender, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(codec, id, p.cfg.StreamID)
	if err != nil {
		return nil, nil, fmt.Errorf("client: new %s track: %w", id, err)
	}
	tr, err := p.addTransceiver(track, codec)
	if err != nil {
		return nil, nil, fmt.Errorf("client: add %s transceiver: %w", id, err)
	}
	return track, tr.Sender(), nil
}

// addTransceiver adds a send-only transceiver for track that offers codec only (the API
// registers VP8 and H.264, and the server must not answer with the codec not sent).
func (p *Publisher) addTransceiver(track webrtc.TrackLocal, codec webrtc.RTPCodecCapability) (*webrtc.RTPTransceiver, error) {
	tr, err := p.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, err
	}
	params, ok := registeredCodec(codec)
	if !ok {
		return tr, nil
	}
	if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{params}); err != nil {
		return nil, fmt.Errorf("codec preferences %s: %w", codec.MimeType, err)
	}
	return tr, nil
}

// readRTCP drains the sender's RTCP (so the NACK responder and reports see it) and turns
// PLI/FIR into a keyframe on the next video frame. It ends when the PeerConnection closes.
func (p *Publisher) readRTCP(s *webrtc.RTPSender) {
	p.countRTCP(s.ReadRTCP, func() { p.keyframeWanted.Store(true) })
}

// countRTCP reads RTCP with read until it fails, counting NACKs and PLI/FIRs; keyframe
// runs for each PLI/FIR. It is a publisher goroutine (p.wg).
func (p *Publisher) countRTCP(read func() ([]rtcp.Packet, interceptor.Attributes, error), keyframe func()) {
	defer p.wg.Done()
	for {
		pkts, _, err := read()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.TransportLayerNack:
				p.nacks.Add(1)
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.keyframeRequests.Add(1)
				keyframe()
			}
		}
	}
}

// CreateOffer creates the offer and sets it as the local description.
func (p *Publisher) CreateOffer() (webrtc.SessionDescription, error) {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("client: create offer: %w", err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("client: set local offer: %w", err)
	}
	return offer, nil
}

// CreateRestartOffer creates an offer with new ICE credentials (an ICE restart, e.g.
// after a network change) and sets it as the local description. Candidates of the new
// generation wait for MarkLocalDescriptionSent, the server's for SetAnswer.
func (p *Publisher) CreateRestartOffer() (webrtc.SessionDescription, error) {
	p.trickle.restart()
	offer, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("client: create restart offer: %w", err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("client: set local restart offer: %w", err)
	}
	return offer, nil
}

// RemoteDescription is the server's answer applied last (nil before the first one).
func (p *Publisher) RemoteDescription() *webrtc.SessionDescription {
	return p.pc.CurrentRemoteDescription()
}

// SetAnswer applies the remote answer. The offer is on the wire by then, so local
// candidates held back so far are released too.
func (p *Publisher) SetAnswer(answer webrtc.SessionDescription) error {
	if err := p.pc.SetRemoteDescription(answer); err != nil {
		return fmt.Errorf("client: set remote answer: %w", err)
	}
	p.trickle.markLocalSent()
	if err := p.trickle.remoteDescriptionSet(); err != nil {
		return fmt.Errorf("client: add queued candidate: %w", err)
	}
	return nil
}

// MarkLocalDescriptionSent releases local candidates before the answer arrives; call it
// once the offer has been sent.
func (p *Publisher) MarkLocalDescriptionSent() { p.trickle.markLocalSent() }

// AddICECandidate adds a remote candidate, queueing it until the answer is set.
func (p *Publisher) AddICECandidate(c webrtc.ICECandidateInit) error {
	if err := p.trickle.addRemote(c); err != nil {
		return fmt.Errorf("client: add candidate: %w", err)
	}
	return nil
}

// OnICECandidate sets the handler of local candidates (called once the offer is sent).
func (p *Publisher) OnICECandidate(fn func(webrtc.ICECandidateInit)) { p.trickle.setOnLocal(fn) }

// OnConnectionStateChange sets the PeerConnection state handler.
func (p *Publisher) OnConnectionStateChange(fn func(webrtc.PeerConnectionState)) {
	p.pc.OnConnectionStateChange(fn)
}

// ConnectionState returns the PeerConnection state.
func (p *Publisher) ConnectionState() webrtc.PeerConnectionState { return p.pc.ConnectionState() }

// Start begins sending: one audio packet every 20 ms and VideoFPS video frames a second,
// or the media files at their own pace. Call it after SetAnswer (the audio level extension ID comes from the negotiation).
func (p *Publisher) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.started {
		return errors.New("client: publisher already started")
	}
	select {
	case <-p.stop:
		return errors.New("client: publisher stopped")
	default:
	}
	p.started = true
	if p.audio != nil {
		levelID := 0
		for _, ext := range p.audioSender.GetParameters().HeaderExtensions {
			if ext.URI == AudioLevelURI {
				levelID = ext.ID
			}
		}
		p.sending.Add(1)
		if p.cfg.AudioFile != nil {
			go p.sendAudioFile(uint8(levelID))
		} else {
			go p.sendAudio(uint8(levelID))
		}
	}
	if p.video != nil {
		p.sending.Add(1)
		if p.cfg.VideoFile != nil {
			go p.sendVideoFile()
		} else {
			go p.sendVideo()
		}
	}
	if p.simulcast != nil {
		p.sending.Add(1)
		go p.sendSimulcast()
	}
	return nil
}

// Stop stops sending and waits for the send loops, so Stats is final afterwards; the
// PeerConnection stays up (NACKs are still answered). Idempotent.
func (p *Publisher) Stop() {
	p.mu.Lock()
	p.stopOnce.Do(func() { close(p.stop) })
	p.mu.Unlock()
	p.sending.Wait()
}

// Stats returns what was sent so far.
func (p *Publisher) Stats() PublisherStats {
	return PublisherStats{
		AudioPackets:     p.audioPackets.Load(),
		VideoPackets:     p.videoPackets.Load(),
		VideoFrames:      p.videoFrames.Load(),
		Keyframes:        p.keyframes.Load(),
		KeyframeRequests: p.keyframeRequests.Load(),
		NACKs:            p.nacks.Load(),
	}
}

// Close stops sending, closes the PeerConnection and waits for every goroutine. It is
// idempotent.
func (p *Publisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.Stop()
	err := errors.Join(p.pc.Close(), p.closeNetwork())
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("client: close publisher: %w", err)
	}
	return nil
}

func (p *Publisher) sendAudio(levelExtID uint8) {
	defer p.sending.Done()
	ticker := time.NewTicker(audioPacketInterval)
	defer ticker.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Timestamp: rand.Uint32(), SequenceNumber: uint16(rand.Uint32())}}
	level := p.audioLevel()
	buf := make([]byte, 0, p.cfg.AudioPayloadSize)
	filler := p.cfg.AudioPayloadSize - syntheticOverheadLen
	for seq := uint32(0); ; seq++ {
		select {
		case <-p.stop:
			return
		case <-ticker.C:
		}
		pkt.Payload = appendSynthetic(buf[:0], Synthetic{Kind: PayloadAudio, Seq: seq, SentAtNs: time.Now().UnixNano(), Filler: filler})
		pkt.Marker = seq == 0
		levelExtID = p.setAudioLevel(pkt, levelExtID, level)
		if err := p.audio.WriteRTP(pkt); err != nil {
			p.log.Debug("audio write ended", "err", err)
			return
		}
		p.audioPackets.Store(seq + 1)
		pkt.SequenceNumber++
		pkt.Timestamp += audioSamplesPer20ms
	}
}

// audioLevel is the ssrc-audio-level byte of every audio packet: level and V bit.
func (p *Publisher) audioLevel() byte {
	level := p.cfg.AudioLevel
	if p.cfg.VoiceActivity {
		level |= 0x80
	}
	return level
}

// setAudioLevel writes the audio level extension (ID extID, 0: none) into pkt and returns
// the ID to use for the next packet (0 once writing failed).
func (p *Publisher) setAudioLevel(pkt *rtp.Packet, extID uint8, level byte) uint8 {
	if extID == 0 {
		return 0
	}
	if err := pkt.SetExtension(extID, []byte{level}); err != nil {
		p.log.Warn("audio level extension", "err", err)
		return 0
	}
	return extID
}

func (p *Publisher) sendVideo() {
	defer p.sending.Done()
	fps := p.cfg.VideoFPS
	ticker := time.NewTicker(time.Second / time.Duration(fps))
	defer ticker.Stop()
	start := time.Now()
	baseTS := rand.Uint32()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(rand.Uint32())}}
	frameSize := p.cfg.VideoBitrate / 8 / fps
	buf := make([]byte, 0, MaxPayloadSize)
	codec := newFrameCodec(p.cfg.VideoCodec, p.cfg.Width, p.cfg.Height)
	var packetSeq uint32
	for frame := uint32(0); ; frame++ {
		select {
		case <-p.stop:
			return
		case <-ticker.C:
		}
		if p.videoOff.Load() {
			continue
		}
		keyframe := frame%uint32(p.cfg.KeyframeInterval) == 0 || p.keyframeWanted.Swap(false)
		size := frameSize
		if keyframe {
			size *= 3
		}
		// Timestamps follow the wall clock so that a late tick does not squeeze frames.
		pkt.Timestamp = baseTS + uint32(time.Since(start)*videoClockRate/time.Second)
		sentAt := time.Now().UnixNano()
		err := p.writeVideoFrame(buf, pkt, videoFrame{
			number: frame, keyframe: keyframe, size: size, firstSeq: packetSeq, sentAtNs: sentAt,
		}, codec, &packetSeq)
		if err != nil {
			p.log.Debug("video write ended", "err", err)
			return
		}
	}
}

// writeVideoFrame packetizes f (packetizeFrame) into pkt, whose timestamp is set, writes
// every packet to the video track and counts packets, frames and keyframes; packetSeq is
// the track's packet count, advanced per packet written.
func (p *Publisher) writeVideoFrame(buf []byte, pkt *rtp.Packet, f videoFrame, codec frameCodec, packetSeq *uint32) error {
	err := packetizeFrame(buf, f, codec, func(payload []byte, last bool) error {
		pkt.Payload, pkt.Marker = payload, last
		if err := p.video.WriteRTP(pkt); err != nil {
			return err
		}
		*packetSeq++
		p.videoPackets.Store(*packetSeq)
		pkt.SequenceNumber++
		return nil
	})
	if err != nil {
		return err
	}
	p.videoFrames.Store(f.number + 1)
	if f.keyframe {
		p.keyframes.Add(1)
	}
	return nil
}
