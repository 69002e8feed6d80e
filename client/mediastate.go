package client

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// mediaTask is one unit of the media worker: a server notification (offer, trickle) or
// the attachment of a new Subscriber.
type mediaTask struct {
	ev       Event
	attach   *Subscriber
	attached chan struct{} // closed once attach's pending messages are applied
	gen      uint64
	run      func() // work of a call event (mediaswitch.go), run in the worker's order
}

// mediaState owns the Conn's Publisher and Subscriber. The media worker goroutine (run)
// applies the server's negotiation notifications one at a time, in arrival order, so
// re-offers are answered serially; StartMedia and StopMedia run on the caller's
// goroutine. mu guards every field below it; gen changes at each StartMedia and StopMedia
// so late work of an older media session is recognised and ignored.
type mediaState struct {
	c    *Conn
	wake chan struct{} // capacity 1

	mu        sync.Mutex
	queue     []mediaTask
	gen       uint64
	active    bool             // between StartMedia and StopMedia
	pub       *Publisher       // set by StartMedia
	created   *Subscriber      // set by StartMedia (or replaced by renewSubscriber); closed by StopMedia
	sub       *Subscriber      // set by the worker when it attaches created
	subConfig SubscriberConfig // how StartMedia made created, for renewSubscriber
	// stoppedSession is the server subscriber PeerConnection (sdpSession) that StopMedia
	// abandoned: its later offers are dropped; the server renews it on the next publisher
	// offer from a new PeerConnection.
	stoppedSession string
	pendingSub     []Event // subscriber notifications received while sub is nil
	errs           []error
}

func newMediaState(c *Conn) *mediaState {
	return &mediaState{c: c, wake: make(chan struct{}, 1)}
}

func (m *mediaState) push(t mediaTask) {
	m.mu.Lock()
	m.queue = append(m.queue, t)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// enqueue hands a server offer or trickle notification to the worker; it never blocks.
func (m *mediaState) enqueue(ev Event) { m.push(mediaTask{ev: ev}) }

func (m *mediaState) run(stop <-chan struct{}) {
	for {
		m.mu.Lock()
		var task mediaTask
		ok := len(m.queue) > 0
		if ok {
			task = m.queue[0]
			m.queue[0] = mediaTask{}
			m.queue = m.queue[1:]
		}
		m.mu.Unlock()
		if ok {
			m.process(task)
			continue
		}
		select {
		case <-stop:
			return
		case <-m.wake:
		}
	}
}

func (m *mediaState) process(t mediaTask) {
	if t.run != nil {
		t.run()
		return
	}
	if t.attach != nil {
		m.mu.Lock()
		if t.gen != m.gen {
			m.mu.Unlock()
			close(t.attached)
			return
		}
		m.sub = t.attach
		pending := m.pendingSub
		m.pendingSub = nil
		m.mu.Unlock()
		for _, ev := range pending {
			m.apply(ev)
		}
		close(t.attached)
		return
	}
	m.apply(t.ev)
}

// apply carries out one server negotiation notification.
func (m *mediaState) apply(ev Event) {
	switch ev.Name {
	case protocol.EventPublishLayersChanged:
		var p protocol.PublishLayersChangedEvent
		if err := ev.Decode(&p); err != nil {
			m.fail(0, err)
			return
		}
		m.mu.Lock()
		pub := m.pub
		m.mu.Unlock()
		if pub != nil {
			for _, l := range p.Layers {
				pub.SetSimulcastLayerActive(l.RID, l.Active)
			}
		}
	case protocol.MethodTrickle:
		var p protocol.TrickleParams
		if err := ev.Decode(&p); err != nil {
			m.fail(0, err)
			return
		}
		m.applyCandidate(ev, p)
	case protocol.MethodOffer:
		var p protocol.OfferParams
		if err := ev.Decode(&p); err != nil {
			m.fail(0, err)
			return
		}
		if p.Target != protocol.TargetSubscriber || p.SDP.Type != "offer" {
			m.fail(0, fmt.Errorf("client: server offer #%d for target %q of type %q", ev.Seq, p.Target, p.SDP.Type))
			return
		}
		m.mu.Lock()
		sub, gen := m.sub, m.gen
		if m.stoppedSession != "" && sdpSession(p.SDP.SDP) == m.stoppedSession {
			m.mu.Unlock()
			m.c.log.Debug("offer of a subscriber PeerConnection closed by StopMedia dropped", "seq", ev.Seq)
			return
		}
		if sub == nil {
			m.keepPendingLocked(ev)
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		if sub.isOtherSession(p.SDP.SDP) {
			// The server made a new PeerConnection (it renews both when this client
			// offered from a new publisher): answer it from a new Subscriber too.
			renewed, err := m.renewSubscriber(sub, gen)
			if err != nil {
				m.fail(gen, err)
				return
			}
			sub = renewed
		}
		m.answer(sub, gen, p.SDP.SDP)
	}
}

func (m *mediaState) applyCandidate(ev Event, p protocol.TrickleParams) {
	cand := webrtc.ICECandidateInit{
		Candidate: p.Candidate.Candidate, SDPMid: p.Candidate.SDPMid,
		SDPMLineIndex: p.Candidate.SDPMLineIndex, UsernameFragment: p.Candidate.UsernameFragment,
	}
	m.mu.Lock()
	gen := m.gen
	switch p.Target {
	case protocol.TargetPublisher:
		pub := m.pub
		m.mu.Unlock()
		if pub == nil {
			m.c.log.Debug("publisher candidate without a publisher", "seq", ev.Seq)
			return
		}
		if err := pub.AddICECandidate(cand); err != nil {
			m.fail(gen, err)
		}
	case protocol.TargetSubscriber:
		sub := m.sub
		if sub == nil {
			m.keepPendingLocked(ev)
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		if err := sub.AddICECandidate(cand); err != nil {
			m.fail(gen, err)
		}
	default:
		m.mu.Unlock()
		m.fail(0, fmt.Errorf("client: server candidate #%d for unknown target %q", ev.Seq, p.Target))
	}
}

func (m *mediaState) keepPendingLocked(ev Event) {
	if len(m.pendingSub) >= maxPendingSubscriberMessages {
		m.errs = appendBounded(m.errs, fmt.Errorf("client: %s #%d dropped: %d subscriber messages wait for StartMedia", ev.Name, ev.Seq, len(m.pendingSub)))
		return
	}
	m.pendingSub = append(m.pendingSub, ev)
}

// renewSubscriber replaces old, the running Subscriber of media session gen, with a new
// one made the same way, and closes old.
func (m *mediaState) renewSubscriber(old *Subscriber, gen uint64) (*Subscriber, error) {
	m.mu.Lock()
	cfg := m.subConfig
	m.mu.Unlock()
	sub, err := NewSubscriber(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: renew subscriber: %w", err)
	}
	m.mu.Lock()
	if gen != m.gen || m.sub != old {
		m.mu.Unlock()
		_ = sub.Close()
		return nil, fmt.Errorf("client: renew subscriber: %w", ErrClosed)
	}
	m.sub, m.created = sub, sub
	m.mu.Unlock()
	sub.OnICECandidate(m.trickler(protocol.TargetSubscriber, gen))
	m.c.log.Debug("server offered from a new subscriber PeerConnection: subscriber renewed")
	if err := old.Close(); err != nil {
		m.c.log.Debug("close replaced subscriber", "err", err)
	}
	return sub, nil
}

// answer applies a subscriber offer and sends the answer; the Subscriber's candidates
// are released once the answer is on the wire.
func (m *mediaState) answer(sub *Subscriber, gen uint64, sdp string) {
	answer, err := sub.HandleOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp})
	if err != nil {
		m.fail(gen, err)
		return
	}
	params := protocol.AnswerParams{
		Target: protocol.TargetSubscriber,
		SDP:    protocol.SessionDescription{Type: webrtc.SDPTypeAnswer.String(), SDP: answer.SDP},
	}
	if err := m.c.roundTrip(m.c.ctx, protocol.MethodAnswer, params, nil, sub.MarkLocalDescriptionSent); err != nil {
		m.failUnlessLeft(gen, err)
	}
}

// failUnlessLeft records err unless the server answered "not in a room": the call ended or
// the room was left while a re-offer or a candidate was in flight, which is not a
// negotiation failure (the media session is over; StopMedia closes it).
func (m *mediaState) failUnlessLeft(gen uint64, err error) {
	if protocol.ErrorCode(err) == protocol.CodeNotInRoom {
		m.c.log.Debug("negotiation after leaving the room", "err", err)
		return
	}
	m.fail(gen, err)
}

// fail records a media error unless it belongs to a media session that was stopped since
// (gen 0: always record).
func (m *mediaState) fail(gen uint64, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen != 0 && gen != m.gen {
		return
	}
	select {
	case <-m.c.closing:
		return
	default:
	}
	m.c.log.Warn("media negotiation", "err", err)
	m.errs = appendBounded(m.errs, err)
}

func appendBounded(errs []error, err error) []error {
	if len(errs) >= maxMediaErrors {
		return errs
	}
	return append(errs, err)
}

// trickler returns the local candidate handler of target: each candidate goes out as a
// trickle request whose failure is recorded.
func (m *mediaState) trickler(target protocol.Target, gen uint64) func(webrtc.ICECandidateInit) {
	return func(c webrtc.ICECandidateInit) {
		params := protocol.TrickleParams{Target: target, Candidate: protocol.ICECandidate{
			Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment,
		}}
		m.c.requestAsync(protocol.MethodTrickle, params, func(err error) {
			if err != nil && !errors.Is(err, ErrClosed) {
				m.failUnlessLeft(gen, err)
			}
		})
	}
}
