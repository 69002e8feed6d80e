package client

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// fakeSFU is a minimal media server behind a fakeServer, enough to exercise the client's
// negotiation: one room; a publisher PeerConnection per user (the client offers); a
// subscriber PeerConnection per user created at joinRoom, to which the server adds every
// other user's tracks and re-offers, never sending an offer before the previous answer.
// Packets are relayed unchanged (stream id = the publisher's user id).
type fakeSFU struct {
	t   *testing.T
	api *webrtc.API

	mu      sync.Mutex
	members []*fakeMember
	tracks  []*fakeTrack
	closed  bool
	wg      sync.WaitGroup // relay and RTCP drain goroutines
}

// fakeMember is one logged-in user; mu guards its negotiation state.
type fakeMember struct {
	sfu    *fakeSFU
	fc     *fakeConn
	userID string

	mu       sync.Mutex
	pub, sub *webrtc.PeerConnection
	// The local candidates of pub and sub, held (as a client holds its own, trickle.go)
	// until the publisher answer, the first subscriber offer, is on the wire.
	pubTrickle, subTrickle *trickle
	offerPending           bool // an offer awaits its answer
	needOffer              bool // tracks changed meanwhile
	offers                 int
}

type fakeTrack struct {
	owner *fakeMember
	local *webrtc.TrackLocalStaticRTP
}

func newFakeSFU(t *testing.T) (*fakeSFU, *fakeServer) {
	t.Helper()
	api, err := NewAPI(PeerConfig{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSFU{t: t, api: api}
	fs := newFakeServer(t, s.handle)
	t.Cleanup(s.close)
	return s, fs
}

func (s *fakeSFU) fail(err error) {
	if err != nil {
		s.t.Errorf("fake sfu: %v", err)
	}
}

func (s *fakeSFU) close() {
	s.mu.Lock()
	s.closed = true
	members := s.members
	s.mu.Unlock()
	for _, m := range members {
		m.mu.Lock()
		pcs := []*webrtc.PeerConnection{m.pub, m.sub}
		m.mu.Unlock()
		for _, pc := range pcs {
			if pc != nil {
				_ = pc.Close()
			}
		}
	}
	s.wg.Wait()
}

func (s *fakeSFU) member(fc *fakeConn) *fakeMember {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	m, _ := fc.state.(*fakeMember)
	return m
}

func (s *fakeSFU) handle(fc *fakeConn, req protocol.Request) {
	decode := func(v any) bool {
		if err := json.Unmarshal(req.Params, v); err != nil {
			fc.respondError(req, protocol.InvalidParams("params", err.Error()))
			return false
		}
		return true
	}
	m := s.member(fc)
	switch req.Method {
	case protocol.MethodLogin:
		var p protocol.LoginParams
		if !decode(&p) {
			return
		}
		fc.mu.Lock()
		fc.state = &fakeMember{sfu: s, fc: fc, userID: p.UserID}
		fc.mu.Unlock()
		fc.respond(req, protocol.LoginResult{UserID: p.UserID, ResumeToken: "tok-" + p.UserID})
	case protocol.MethodJoinRoom:
		s.join(m)
		fc.respond(req, nil)
		m.negotiate()
	case protocol.MethodOffer:
		var p protocol.OfferParams
		if !decode(&p) {
			return
		}
		answer, err := m.publisherOffer(p.SDP.SDP)
		if err != nil {
			fc.respondError(req, protocol.NewError(protocol.CodeNegotiationFailed, err.Error()))
			return
		}
		fc.respond(req, protocol.OfferResult{SDP: protocol.SessionDescription{Type: "answer", SDP: answer}})
		m.publisherAnswerSent()
	case protocol.MethodAnswer:
		var p protocol.AnswerParams
		if !decode(&p) {
			return
		}
		m.mu.Lock()
		sub := m.sub
		m.mu.Unlock()
		if err := sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: p.SDP.SDP}); err != nil {
			fc.respondError(req, protocol.NewError(protocol.CodeNegotiationFailed, err.Error()))
			return
		}
		fc.respond(req, nil)
		m.mu.Lock()
		m.offerPending = false
		again := m.needOffer
		m.needOffer = false
		m.mu.Unlock()
		if again {
			m.negotiate()
		}
	case protocol.MethodTrickle:
		var p protocol.TrickleParams
		if !decode(&p) {
			return
		}
		m.mu.Lock()
		pc := m.pub
		if p.Target == protocol.TargetSubscriber {
			pc = m.sub
		}
		m.mu.Unlock()
		c := webrtc.ICECandidateInit{Candidate: p.Candidate.Candidate, SDPMid: p.Candidate.SDPMid, SDPMLineIndex: p.Candidate.SDPMLineIndex}
		if pc == nil {
			fc.respondError(req, protocol.NewError(protocol.CodeNotInRoom, ""))
			return
		}
		if err := pc.AddICECandidate(c); err != nil {
			fc.respondError(req, protocol.NewError(protocol.CodeNegotiationFailed, err.Error()))
			return
		}
		fc.respond(req, nil)
	default:
		fc.respond(req, nil)
	}
}

// join creates the member's subscriber PeerConnection with every published track.
func (s *fakeSFU) join(m *fakeMember) {
	sub, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		s.fail(err)
		return
	}
	subTrickle := newTrickle(sub)
	subTrickle.setOnLocal(func(c webrtc.ICECandidateInit) { m.sendCandidate(protocol.TargetSubscriber, c) })
	m.mu.Lock()
	m.sub, m.subTrickle = sub, subTrickle
	m.mu.Unlock()
	s.mu.Lock()
	s.members = append(s.members, m)
	tracks := append([]*fakeTrack(nil), s.tracks...)
	s.mu.Unlock()
	for _, tr := range tracks {
		if tr.owner != m {
			s.addToSubscriber(m, tr)
		}
	}
}

func (s *fakeSFU) addToSubscriber(m *fakeMember, tr *fakeTrack) {
	m.mu.Lock()
	sub := m.sub
	m.mu.Unlock()
	sender, err := sub.AddTrack(tr.local)
	if err != nil {
		s.fail(err)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			if _, _, err := sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()
}

// publish relays a published remote track to every other member's subscriber.
func (s *fakeSFU) publish(owner *fakeMember, remote *webrtc.TrackRemote) {
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, remote.Kind().String(), owner.userID)
	if err != nil {
		s.fail(err)
		return
	}
	tr := &fakeTrack{owner: owner, local: local}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.tracks = append(s.tracks, tr)
	members := append([]*fakeMember(nil), s.members...)
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	for _, m := range members {
		if m != owner {
			s.addToSubscriber(m, tr)
			m.negotiate()
		}
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		// A subscriber that went away must not stop the relay to the others.
		_, _ = local.Write(buf[:n])
	}
}

// negotiate sends a subscriber offer now, or after the pending one is answered.
func (m *fakeMember) negotiate() {
	m.mu.Lock()
	if m.sub == nil {
		m.mu.Unlock()
		return
	}
	if m.offerPending {
		m.needOffer = true
		m.mu.Unlock()
		return
	}
	if len(m.sub.GetTransceivers()) == 0 {
		m.mu.Unlock()
		return // nothing to offer yet
	}
	m.offerPending = true
	sub := m.sub
	m.mu.Unlock()
	offer, err := sub.CreateOffer(nil)
	if err == nil {
		err = sub.SetLocalDescription(offer)
	}
	if err != nil {
		if !errors.Is(err, webrtc.ErrConnectionClosed) {
			m.sfu.fail(err)
		}
		return
	}
	m.fc.notify(protocol.MethodOffer, protocol.OfferParams{Target: protocol.TargetSubscriber, SDP: protocol.SessionDescription{Type: "offer", SDP: offer.SDP}})
	m.mu.Lock()
	m.offers++
	subTrickle := m.subTrickle
	m.mu.Unlock()
	subTrickle.markLocalSent()
}

// publisherOffer answers the member's publisher offer.
func (m *fakeMember) publisherOffer(sdp string) (string, error) {
	m.mu.Lock()
	pc := m.pub
	m.mu.Unlock()
	if pc == nil {
		var err error
		pc, err = m.sfu.api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			return "", err
		}
		pubTrickle := newTrickle(pc)
		pubTrickle.setOnLocal(func(c webrtc.ICECandidateInit) { m.sendCandidate(protocol.TargetPublisher, c) })
		pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { m.sfu.publish(m, remote) })
		m.mu.Lock()
		m.pub, m.pubTrickle = pc, pubTrickle
		m.mu.Unlock()
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	return answer.SDP, nil
}

// publisherAnswerSent releases the publisher candidates held until the answer was sent.
func (m *fakeMember) publisherAnswerSent() {
	m.mu.Lock()
	pubTrickle := m.pubTrickle
	m.mu.Unlock()
	if pubTrickle != nil {
		pubTrickle.markLocalSent()
	}
}

func (m *fakeMember) sendCandidate(target protocol.Target, c webrtc.ICECandidateInit) {
	m.fc.notify(protocol.MethodTrickle, protocol.TrickleParams{Target: target, Candidate: protocol.ICECandidate{
		Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment,
	}})
}

func (m *fakeMember) offerCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.offers
}
