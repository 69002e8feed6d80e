package room_test

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/pion/webrtc/v4"
)

// The fake Peers (fakes_test.go): a publisher, a subscriber and what they share.

// fakeTransport is what both fakes share: candidates, state, close.
type fakeTransport struct {
	mu         sync.Mutex
	state      webrtc.PeerConnectionState
	onState    func(webrtc.PeerConnectionState)
	onCand     func(webrtc.ICECandidateInit)
	candidates []string
	localSent  int
	closed     bool
}

func (t *fakeTransport) AddICECandidate(c webrtc.ICECandidateInit) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return sfu.ErrPeerClosed
	}
	t.candidates = append(t.candidates, c.Candidate)
	return nil
}

func (t *fakeTransport) OnICECandidate(f func(webrtc.ICECandidateInit)) {
	t.mu.Lock()
	t.onCand = f
	t.mu.Unlock()
}

func (t *fakeTransport) MarkLocalDescriptionSent() {
	t.mu.Lock()
	t.localSent++
	t.mu.Unlock()
}

func (t *fakeTransport) OnConnectionStateChange(f func(webrtc.PeerConnectionState)) {
	t.mu.Lock()
	t.onState = f
	t.mu.Unlock()
}

// OnConnectStep: the fakes have no ICE or DTLS; the room's timeline of real Peers is
// tested in timeline_test.go.
func (t *fakeTransport) OnConnectStep(func(step string)) {}

func (t *fakeTransport) ConnectionState() webrtc.PeerConnectionState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// setState changes the state and tells the room, as pion's state goroutine would.
func (t *fakeTransport) setState(s webrtc.PeerConnectionState) {
	t.mu.Lock()
	t.state = s
	f := t.onState
	t.mu.Unlock()
	if f != nil {
		f(s)
	}
}

// gather hands the room a local candidate.
func (t *fakeTransport) gather(c string) {
	t.mu.Lock()
	f := t.onCand
	t.mu.Unlock()
	if f != nil {
		f(webrtc.ICECandidateInit{Candidate: c})
	}
}

func (t *fakeTransport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// close marks the transport closed; false when it was already.
func (t *fakeTransport) close() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.closed = true
	t.state = webrtc.PeerConnectionStateClosed
	return true
}

// fakePublisher is a publisher Peer: an offer's SDP is its session name (IsOtherSession
// compares it with the first one), and the test publishes tracks with publish.
type fakePublisher struct {
	fakeTransport
	id        string
	session   string
	offers    int
	onTrack   func(room.UpTrack)
	onRestart func()
	tracks    []*fakeTrack
	// during, when set, runs at the start of HandleOffer without the fake's lock (a leave
	// racing the offer, TestNegotiationCutShortByLeave).
	during func()
}

// RemoteSends is true for a kind the fake already publishes (a fake offer announces nothing
// else).
func (p *fakePublisher) RemoteSends(kind webrtc.RTPCodecType) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.tracks {
		if t.kind == kind {
			return true
		}
	}
	return false
}

func (p *fakePublisher) HandleOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	p.mu.Lock()
	during := p.during
	p.mu.Unlock()
	if during != nil {
		during()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return webrtc.SessionDescription{}, sfu.ErrPeerClosed
	}
	if p.session == "" {
		p.session = offer.SDP
	}
	p.offers++
	return webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: "answer to " + offer.SDP}, nil
}

func (p *fakePublisher) IsOtherSession(offer webrtc.SessionDescription) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.session != "" && offer.SDP != p.session
}

func (p *fakePublisher) GatheredLocalDescription(context.Context) (webrtc.SessionDescription, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: "gathered answer to " + p.session}, nil
}

func (p *fakePublisher) OnICERestart(f func()) {
	p.mu.Lock()
	p.onRestart = f
	p.mu.Unlock()
}

func (p *fakePublisher) OnTrack(f func(room.UpTrack)) {
	p.mu.Lock()
	p.onTrack = f
	p.mu.Unlock()
}

func (p *fakePublisher) Tracks() []room.UpTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []room.UpTrack
	for _, t := range p.tracks {
		if !t.isClosed() {
			out = append(out, t)
		}
	}
	return out
}

// publish makes a new track of kind arrive, as pion's OnTrack would.
func (p *fakePublisher) publish(kind webrtc.RTPCodecType) *fakeTrack {
	return p.publishTrack(kind, false)
}

// publishSimulcast makes a simulcast video track arrive.
func (p *fakePublisher) publishSimulcast() *fakeTrack { return p.publishTrack(video, true) }

func (p *fakePublisher) publishTrack(kind webrtc.RTPCodecType, simulcast bool) *fakeTrack {
	t := &fakeTrack{id: fmt.Sprintf("%s-%s-%d", p.id, kind, len(p.tracks)), stream: p.id, kind: kind, simulcast: simulcast}
	p.mu.Lock()
	p.tracks = append(p.tracks, t)
	f := p.onTrack
	p.mu.Unlock()
	if f != nil {
		f(t)
	}
	return t
}

// restartICE is the client's ICE-restarting offer.
func (p *fakePublisher) restartICE() {
	p.mu.Lock()
	f := p.onRestart
	p.mu.Unlock()
	if f != nil {
		f()
	}
}

// Close ends the published tracks (their OnClose hooks run), as sfu.Publisher.Close does.
func (p *fakePublisher) Close() error {
	if !p.close() {
		return nil
	}
	p.mu.Lock()
	tracks := slices.Clone(p.tracks)
	p.mu.Unlock()
	for _, t := range tracks {
		_ = t.Close()
	}
	return nil
}

// fakeSubscriber is a subscriber Peer: it keeps its down tracks and counts its offers.
type fakeSubscriber struct {
	fakeTransport
	id          string
	preConnect  bool
	negotiate   bool // down tracks changed since the last offer
	holds       int
	offers      int
	answers     int
	restarts    int
	onNegotiate func()
	downs       map[*fakeDown]bool
	downlink    sfu.DownlinkStats
}

func (s *fakeSubscriber) AddDownTrack(t room.UpTrack) (room.DownTrack, error) {
	ft, ok := t.(*fakeTrack)
	if !ok {
		return nil, fmt.Errorf("fake subscriber: track %T", t)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, sfu.ErrPeerClosed
	}
	d := &fakeDown{track: ft, sub: s}
	ft.mu.Lock()
	if ft.closed {
		ft.mu.Unlock()
		s.mu.Unlock()
		return nil, sfu.ErrReceiverClosed
	}
	ft.downs = append(ft.downs, d)
	ft.mu.Unlock()
	s.downs[d] = true
	s.mu.Unlock()
	s.changed()
	return d, nil
}

func (s *fakeSubscriber) RemoveDownTrack(d room.DownTrack) error {
	fd := d.(*fakeDown)
	fd.track.mu.Lock()
	fd.track.downs = slices.DeleteFunc(fd.track.downs, func(x *fakeDown) bool { return x == fd })
	fd.track.mu.Unlock()
	if s.drop(fd) {
		s.changed()
	}
	return nil
}

// drop forgets d; false when it was not there.
func (s *fakeSubscriber) drop(d *fakeDown) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.downs[d] || s.closed {
		return false
	}
	delete(s.downs, d)
	return true
}

// changed asks for an offer, now unless held (the sfu does it on a goroutine of its own).
func (s *fakeSubscriber) changed() {
	s.mu.Lock()
	s.negotiate = true
	s.mu.Unlock()
	s.fire()
}

func (s *fakeSubscriber) fire() {
	s.mu.Lock()
	f := s.onNegotiate
	if !s.negotiate || s.holds > 0 || s.closed || f == nil {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	f()
}

func (s *fakeSubscriber) CreateOffer() (webrtc.SessionDescription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return webrtc.SessionDescription{}, sfu.ErrPeerClosed
	}
	s.negotiate = false
	s.offers++
	return webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: fmt.Sprintf("offer %d with %d tracks", s.offers, len(s.downs))}, nil
}

func (s *fakeSubscriber) HandleAnswer(webrtc.SessionDescription) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers++
	return nil
}

func (s *fakeSubscriber) OnNegotiationNeeded(f func()) {
	s.mu.Lock()
	s.onNegotiate = f
	s.mu.Unlock()
	s.fire()
}

func (s *fakeSubscriber) HoldNegotiation() (release func()) {
	s.mu.Lock()
	s.holds++
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.holds--
			s.mu.Unlock()
			s.fire()
		})
	}
}

func (s *fakeSubscriber) RestartICE() {
	s.mu.Lock()
	s.restarts++
	s.mu.Unlock()
}

// installed: open, and the room watches its negotiation.
func (s *fakeSubscriber) installed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && s.onNegotiate != nil
}

func (s *fakeSubscriber) restartCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

func (s *fakeSubscriber) DownlinkStats() sfu.DownlinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downlink
}

func (s *fakeSubscriber) Close() error {
	s.close()
	return nil
}

// receiving lists what s sends, as "stream kind" sorted.
func (s *fakeSubscriber) receiving() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for d := range s.downs {
		out = append(out, d.track.stream+" "+d.track.kind.String())
	}
	slices.Sort(out)
	return out
}

// down returns the down track of stream's kind track, nil when none.
func (s *fakeSubscriber) down(stream string, kind webrtc.RTPCodecType) *fakeDown {
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := range s.downs {
		if d.track.stream == stream && d.track.kind == kind {
			return d
		}
	}
	return nil
}

func (s *fakeSubscriber) offerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offers
}
