package client

import (
	"sync"

	"github.com/pion/webrtc/v4"
)

// trickle holds back ICE candidates across the two trickle races: local candidates wait
// until the caller says the local description is on the wire, remote candidates wait
// until the remote description is set (pion rejects them before).
type trickle struct {
	pc *webrtc.PeerConnection

	mu            sync.Mutex
	localSent     bool
	pendingLocal  []webrtc.ICECandidateInit
	onLocal       func(webrtc.ICECandidateInit)
	remoteSet     bool
	pendingRemote []webrtc.ICECandidateInit
}

func newTrickle(pc *webrtc.PeerConnection) *trickle {
	t := &trickle{pc: pc}
	pc.OnICECandidate(t.localCandidate)
	return t
}

func (t *trickle) localCandidate(c *webrtc.ICECandidate) {
	if c == nil {
		return // end of gathering
	}
	init := c.ToJSON()
	t.mu.Lock()
	if !t.localSent || t.onLocal == nil {
		t.pendingLocal = append(t.pendingLocal, init)
		t.mu.Unlock()
		return
	}
	fn := t.onLocal
	t.mu.Unlock()
	fn(init)
}

// setOnLocal installs the handler that carries local candidates to the remote side.
func (t *trickle) setOnLocal(fn func(webrtc.ICECandidateInit)) {
	t.mu.Lock()
	t.onLocal = fn
	t.mu.Unlock()
	t.flushLocal()
}

// markLocalSent releases the local candidates gathered so far and lets later ones through.
func (t *trickle) markLocalSent() {
	t.mu.Lock()
	t.localSent = true
	t.mu.Unlock()
	t.flushLocal()
}

func (t *trickle) flushLocal() {
	t.mu.Lock()
	if !t.localSent || t.onLocal == nil {
		t.mu.Unlock()
		return
	}
	pending, fn := t.pendingLocal, t.onLocal
	t.pendingLocal = nil
	t.mu.Unlock()
	for _, c := range pending {
		fn(c)
	}
}

// addRemote adds c now or, before the remote description is set, queues it.
func (t *trickle) addRemote(c webrtc.ICECandidateInit) error {
	t.mu.Lock()
	if !t.remoteSet {
		t.pendingRemote = append(t.pendingRemote, c)
		t.mu.Unlock()
		return nil
	}
	t.mu.Unlock()
	return t.pc.AddICECandidate(c)
}

// restart starts a new ICE generation: local candidates wait again until the new offer is
// on the wire, remote ones until the new remote description is set.
func (t *trickle) restart() {
	t.mu.Lock()
	t.localSent = false
	t.remoteSet = false
	t.mu.Unlock()
}

// remoteDescriptionSet adds the queued remote candidates. It returns the first error.
func (t *trickle) remoteDescriptionSet() error {
	t.mu.Lock()
	t.remoteSet = true
	pending := t.pendingRemote
	t.pendingRemote = nil
	t.mu.Unlock()
	var first error
	for _, c := range pending {
		if err := t.pc.AddICECandidate(c); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Trickle is the exported form of the candidate queues, for other PeerConnections of a
// Parley client (the bench's measuring subscriber): create it before negotiating, set
// OnLocal, call MarkLocalSent once the offer or answer is on the wire, feed the server's
// candidates to AddRemote and call RemoteDescriptionSet after SetRemoteDescription.
type Trickle struct{ t *trickle }

// NewTrickle takes over pc's OnICECandidate.
func NewTrickle(pc *webrtc.PeerConnection) *Trickle { return &Trickle{t: newTrickle(pc)} }

// OnLocal installs where local candidates go.
func (t *Trickle) OnLocal(fn func(webrtc.ICECandidateInit)) { t.t.setOnLocal(fn) }

// MarkLocalSent releases the local candidates held so far and lets later ones through.
func (t *Trickle) MarkLocalSent() { t.t.markLocalSent() }

// AddRemote adds a remote candidate now, or queues it until RemoteDescriptionSet.
func (t *Trickle) AddRemote(c webrtc.ICECandidateInit) error { return t.t.addRemote(c) }

// RemoteDescriptionSet adds the queued remote candidates; it returns the first error.
func (t *Trickle) RemoteDescriptionSet() error { return t.t.remoteDescriptionSet() }
