package room_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/pion/webrtc/v4"
)

// Fakes of the media plane (room's interfaces, media.go): the room's rules run on them
// without PeerConnections, so what they decide is visible at once and exactly. A fake
// fires its callbacks on the caller's goroutine, outside its own lock: negotiation when a
// down track changes (unless held), OnTrack when the test publishes. Integration tests
// (integration_test.go, simulcast*_test.go, metrics_test.go ...) run the same rules over
// real pion PeerConnections.

// fakePeers is a room.PeerFactory that remembers every Peer it built, by user.
type fakePeers struct {
	mu   sync.Mutex
	pubs map[string][]*fakePublisher
	subs map[string][]*fakeSubscriber
}

func newFakePeers() *fakePeers {
	return &fakePeers{pubs: map[string][]*fakePublisher{}, subs: map[string][]*fakeSubscriber{}}
}

func (f *fakePeers) NewPublisher(id string) (room.PublisherPeer, error) {
	p := &fakePublisher{fakeTransport: fakeTransport{state: webrtc.PeerConnectionStateNew}, id: id}
	f.mu.Lock()
	f.pubs[id] = append(f.pubs[id], p)
	f.mu.Unlock()
	return p, nil
}

func (f *fakePeers) NewSubscriber(id string, preConnect bool, _ []sfu.ReservedSection) (room.SubscriberPeer, error) {
	s := &fakeSubscriber{fakeTransport: fakeTransport{state: webrtc.PeerConnectionStateNew}, id: id,
		preConnect: preConnect, negotiate: preConnect, downs: map[*fakeDown]bool{}}
	f.mu.Lock()
	f.subs[id] = append(f.subs[id], s)
	f.mu.Unlock()
	return s, nil
}

// errFakeDenied is what ScreenCandidate says of the candidate "deny".
var errFakeDenied = errors.New("fake: candidate denied")

func (f *fakePeers) ScreenCandidate(c string) error {
	if c == "deny" {
		return errFakeDenied
	}
	return nil
}

// pub returns user's latest open publisher, sub its installed subscriber (the room set
// its OnNegotiationNeeded: two may be built at once, one in the background and one with
// the client's offer, and the room closes the one it does not install); nil when none.
func (f *fakePeers) pub(user string) *fakePublisher {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range slices.Backward(f.pubs[user]) {
		if !p.isClosed() {
			return p
		}
	}
	return nil
}

func (f *fakePeers) sub(user string) *fakeSubscriber {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range slices.Backward(f.subs[user]) {
		if s.installed() {
			return s
		}
	}
	return nil
}

// total is how many Peers were built.
func (f *fakePeers) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.pubs {
		n += len(l)
	}
	for _, l := range f.subs {
		n += len(l)
	}
	return n
}

// count is how many Peers were built for user.
func (f *fakePeers) count(user string) (pubs, subs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pubs[user]), len(f.subs[user])
}

// fakeSignaller is a participant's Signaller over the fakes: it counts what the room
// sends the client.
type fakeSignaller struct {
	mu         sync.Mutex
	offers     int
	candidates []string
}

func (s *fakeSignaller) SendSubscriberOffer(webrtc.SessionDescription) {
	s.mu.Lock()
	s.offers++
	s.mu.Unlock()
}

func (s *fakeSignaller) SendCandidate(target room.Target, c webrtc.ICECandidateInit) {
	s.mu.Lock()
	s.candidates = append(s.candidates, target.String()+" "+c.Candidate)
	s.mu.Unlock()
}

// fakeRoom is a Manager on fakes with one room.
type fakeRoom struct {
	t     *testing.T
	peers *fakePeers
	l     *recordingListener
	m     *room.Manager
	id    room.ID
}

func newFakeRoom(t *testing.T, cfg room.Config) *fakeRoom {
	t.Helper()
	f := &fakeRoom{t: t, l: &recordingListener{}}
	f.m, f.peers = newFakeManager(t, cfg, f.l)
	f.id = mustID(t, 77)
	return f
}

// newFakeManager returns a Manager on fakes, closed at cleanup, and its fakes.
func newFakeManager(t *testing.T, cfg room.Config, l room.Listener) (*room.Manager, *fakePeers) {
	t.Helper()
	peers := newFakePeers()
	m := room.NewManagerWith(cfg, peers, l, nil)
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("manager close: %v", err)
		}
	})
	return m, peers
}

// join adds user; with publish it offers (building both Peers) and connects.
func (f *fakeRoom) join(user string, opts room.JoinOptions, publish bool) (*room.Participant, *fakeSignaller) {
	f.t.Helper()
	sig := &fakeSignaller{}
	p, err := f.m.JoinWith(f.id, user, opts, sig)
	if err != nil {
		f.t.Fatal(err)
	}
	if publish {
		if _, err := p.HandlePublisherOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: user + " session 1"}); err != nil {
			f.t.Fatal(err)
		}
		f.peers.pub(user).setState(webrtc.PeerConnectionStateConnected)
	}
	return p, sig
}

// waitSub waits for user's subscriber Peer (built in the background when the room has
// something to send and the user never offered).
func (f *fakeRoom) waitSub(user string) *fakeSubscriber {
	f.t.Helper()
	waitFor(f.t, 10*time.Second, user+"'s subscriber Peer", func() bool { return f.peers.sub(user) != nil })
	return f.peers.sub(user)
}
