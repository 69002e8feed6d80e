package sfu

import (
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/transport/v5/packetio"
	"github.com/pion/webrtc/v4"
)

// RTCP per PeerConnection: pion's SRTCP session (one read goroutine per PeerConnection)
// decrypts what a subscriber sends and writes each RTCP packet into the buffer of the
// SRTCP stream it is addressed to (one stream per SSRC). A subscriber Peer's
// PeerConnection is built with its own SettingEngine.BufferFactory (Engine.subscriberAPI),
// so every one of those stream buffers is a peerRTCPStream that tags the packet with its
// SSRC and queues it into the Peer's one bounded queue; the Peer's RTCP goroutine reads
// that queue and hands each packet to the DownTrack bound to the SSRC (NACK, PLI/FIR,
// reports) and the transport-wide feedback to the Peer's congestion controller
// (congestion.go).
// So a subscriber has one RTCP goroutine whatever the number of its tracks, where a
// reader per track (RTPSender.Read) used to need one each.
//
// pion's interceptors see no RTCP of subscriber PeerConnections that way (nobody calls
// RTPSender.Read); none of the Engine's interceptors needs a subscriber's RTCP.

// rtcpQueueBytes bounds the RTCP a subscriber may have queued for its RTCP goroutine; more
// is dropped (as pion drops RTCP into a full stream buffer).
const rtcpQueueBytes = 100_000

// rtpStreamBytes bounds each RTP stream buffer of a subscriber PeerConnection (none
// carries media; the size is pion's default).
const rtpStreamBytes = 1_000_000

// peerRTCP is a subscriber Peer's RTCP queue and the buffers pion's SRTCP session writes.
type peerRTCP struct {
	queue *packetio.Buffer // [ssrc(4) | RTCP packet], written by pion, read by the RTCP goroutine

	mu      sync.Mutex // serializes writers (pion has one per PeerConnection; one scratch)
	scratch [4 + maxPacketSize]byte

	dropped atomic.Uint64 // packets the full queue refused

	// RTCP goroutine.
	buf  [4 + maxPacketSize]byte
	pkts []rtcp.Packet // the packets of a compound other than transport-wide feedback
}

func newPeerRTCP() *peerRTCP {
	q := packetio.NewBuffer()
	q.SetLimitSize(rtcpQueueBytes)
	return &peerRTCP{queue: q}
}

// bufferFactory is the SettingEngine.BufferFactory of the subscriber's PeerConnection.
func (q *peerRTCP) bufferFactory(kind packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	if kind == packetio.RTCPBufferPacket {
		return &peerRTCPStream{owner: q, ssrc: ssrc, closed: make(chan struct{})}
	}
	b := packetio.NewBuffer()
	b.SetLimitSize(rtpStreamBytes)
	return &rtpStreamBuffer{b}
}

// push queues one RTCP packet addressed to ssrc. pion's SRTCP goroutine; no allocation
// once the queue has grown.
func (q *peerRTCP) push(ssrc uint32, pkt []byte) {
	if len(pkt) > maxPacketSize {
		q.dropped.Add(1)
		return
	}
	q.mu.Lock()
	binary.BigEndian.PutUint32(q.scratch[:4], ssrc)
	n := copy(q.scratch[4:], pkt)
	_, err := q.queue.Write(q.scratch[:4+n], nil)
	q.mu.Unlock()
	if err != nil {
		q.dropped.Add(1)
	}
}

// close ends the RTCP goroutine's reads.
func (q *peerRTCP) close() { _ = q.queue.Close() }

// peerRTCPStream is the buffer of one SRTCP stream (one SSRC) of a subscriber
// PeerConnection: what pion writes goes to the Peer's queue; nobody reads it.
type peerRTCPStream struct {
	owner     *peerRTCP
	ssrc      uint32
	closeOnce sync.Once
	closed    chan struct{}
}

func (s *peerRTCPStream) Write(b []byte) (int, error) {
	s.owner.push(s.ssrc, b)
	return len(b), nil
}

// Read blocks until the stream is closed: the Peer's RTCP goroutine reads the queue.
func (s *peerRTCPStream) Read([]byte) (int, error) {
	<-s.closed
	return 0, io.EOF
}

func (s *peerRTCPStream) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

// rtpStreamBuffer is pion's default RTP stream buffer (a limited packetio.Buffer).
type rtpStreamBuffer struct{ *packetio.Buffer }

func (b *rtpStreamBuffer) Read(p []byte) (int, error) {
	n, _, err := b.Buffer.Read(p, nil)
	return n, err
}

func (b *rtpStreamBuffer) Write(p []byte) (int, error) { return b.Buffer.Write(p, nil) }

func (b *rtpStreamBuffer) ReadWithAttributes(p []byte, a packetio.Attributes) (int, packetio.Attributes, error) {
	return b.Buffer.Read(p, a)
}

func (b *rtpStreamBuffer) WriteWithAttributes(p []byte, a packetio.Attributes) (int, error) {
	return b.Buffer.Write(p, a)
}

// subscriberAPI is the Engine's API with rtcp's buffer factory, an interceptor
// registry whose transport-wide numbering records into history (congestion.go) and
// counts with next, and keys' DTLS hooks (dtlskeys.go; the server answers a viewer's
// offer as the DTLS server, as it is toward clients answering its offers): the one a
// subscriber Peer's PeerConnection is built from. It shares the Engine's codecs,
// interceptor factories and settings (sockets, ICE); building it allocates a few small
// objects.
func (e *Engine) subscriberAPI(q *peerRTCP, history *sendHistory, keys *dtlsKeys, next *atomic.Uint32) *webrtc.API {
	settings := e.apiParts.settings
	settings.BufferFactory = q.bufferFactory
	if keys != nil {
		keys.configure(&settings)
		_ = settings.SetAnsweringDTLSRole(webrtc.DTLSRoleServer) // a valid role: no error
	}
	return webrtc.NewAPI(
		webrtc.WithMediaEngine(e.apiParts.media),
		webrtc.WithInterceptorRegistry(interceptorRegistry(e.apiParts.factories, history, next)),
		webrtc.WithSettingEngine(settings),
	)
}

// publisherAPI is the Engine's API with in's DTLS hooks (the server answers as the DTLS
// server, so that dtlsKeys learns the client's write key) and interceptor factories that
// record the NACK reporter and transport-wide feedback sender they make for the one
// PeerConnection built from it (the own read path writes their streams' state, rtpin.go).
func (e *Engine) publisherAPI(in *publisherIn) *webrtc.API {
	settings := e.apiParts.settings
	in.keys.configure(&settings)
	_ = settings.SetAnsweringDTLSRole(webrtc.DTLSRoleServer) // a valid role: no error
	factories := make([]interceptor.Factory, len(e.apiParts.factories))
	for i, f := range e.apiParts.factories {
		factories[i] = recordingFactory{Factory: f, made: func(x interceptor.Interceptor) {
			switch x := x.(type) {
			case *nackReporter:
				in.nack.Store(x)
			case *feedbackSender:
				in.twcc.Store(x)
			}
		}}
	}
	return webrtc.NewAPI(
		webrtc.WithMediaEngine(e.apiParts.media),
		webrtc.WithInterceptorRegistry(interceptorRegistry(factories, nil, nil)),
		webrtc.WithSettingEngine(settings),
	)
}

// recordingFactory passes each interceptor its Factory makes to made.
type recordingFactory struct {
	interceptor.Factory
	made func(interceptor.Interceptor)
}

func (f recordingFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	x, err := f.Factory.NewInterceptor(id)
	if err == nil {
		f.made(x)
	}
	return x, err
}

// apiParts are what Engine.buildAPI assembled, kept to build subscribers' APIs.
type apiParts struct {
	media     *webrtc.MediaEngine
	registry  *interceptor.Registry // publishers'
	factories []interceptor.Factory // registry's, but the outermost (interceptorRegistry)
	settings  webrtc.SettingEngine
}

// readRTCP is a subscriber Peer's RTCP goroutine: it dispatches every RTCP packet of the
// PeerConnection until the Peer closes.
func (p *Subscriber) readRTCP() {
	defer p.wg.Done()
	q := p.rtcp
	for {
		n, _, err := q.queue.Read(q.buf[:], nil)
		if err != nil {
			if p.bw != nil && p.bw.cc != nil && p.bw.cc.rejected > 0 {
				p.logger.Debug("subscriber RTCP ended", "malformed_feedback", p.bw.cc.rejected)
			}
			if in := p.rtcpIn; in != nil && in.rejected.Load() > 0 {
				p.logger.Debug("subscriber SRTCP refused on the own read path", "taken", in.taken.Load(), "rejected", in.rejected.Load())
			}
			return
		}
		if n < 4 {
			continue
		}
		p.dispatchRTCP(binary.BigEndian.Uint32(q.buf[:4]), q.buf[4:n], time.Now())
	}
}

// dispatchRTCP feeds the transport-wide feedback in the compound RTCP packet raw,
// addressed to ssrc, to the congestion controller (read in place, no allocation) and
// hands the other packets to the DownTrack sending ssrc. RTCP goroutine.
func (p *Subscriber) dispatchRTCP(ssrc uint32, raw []byte, now time.Time) {
	rest, others := raw, false
	for {
		pkt, next, ok := nextRTCP(rest)
		if !ok {
			break
		}
		if isTWCC(pkt) {
			p.noteTransportFeedback(pkt, now)
		} else {
			others = true
		}
		rest = next
	}
	if !others {
		return
	}
	q := p.rtcp
	q.pkts = q.pkts[:0]
	for rest = raw; ; {
		pkt, next, ok := nextRTCP(rest)
		if !ok {
			break
		}
		if !isTWCC(pkt) {
			if pkts, err := rtcp.Unmarshal(pkt); err == nil {
				q.pkts = append(q.pkts, pkts...)
			}
		}
		rest = next
	}
	if len(q.pkts) == 0 {
		return
	}
	for _, d := range *p.rtcpTracks.Load() {
		if b := d.binding.Load(); b != nil && b.ssrc == ssrc {
			d.handlePackets(q.pkts, now)
			return
		}
	}
	for _, pkt := range q.pkts { // about no current DownTrack: still bandwidth feedback
		p.noteBandwidthFeedback(pkt, now)
	}
}

// setRTCPTracksLocked publishes the DownTrack set to the RTCP goroutine (copy on write).
// Caller holds p.mu.
func (p *Subscriber) setRTCPTracksLocked() {
	tracks := make([]*DownTrack, 0, len(p.downTracks))
	for d := range p.downTracks {
		tracks = append(tracks, d)
	}
	p.rtcpTracks.Store(&tracks)
}
