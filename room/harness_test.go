package room_test

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/teststack"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/pion/webrtc/v4"
)

// startEngine starts an sfu.Engine on an ephemeral loopback port, closed at cleanup;
// opts change the configuration first.
func startEngine(t *testing.T, opts ...func(*sfu.Config)) *sfu.Engine {
	t.Helper()
	return teststack.Engine(t, teststack.MediaConfig(opts...), nil)
}

// newManager returns a Manager closed at cleanup (before the engine, registered later).
func newManager(t *testing.T, cfg room.Config, engine *sfu.Engine, l room.Listener) *room.Manager {
	t.Helper()
	return newLoggingManager(t, cfg, engine, l, nil)
}

// newLoggingManager is newManager with a logger (nil: none).
func newLoggingManager(t *testing.T, cfg room.Config, engine *sfu.Engine, l room.Listener, log *slog.Logger) *room.Manager {
	t.Helper()
	m := room.NewManager(cfg, engine, l, log)
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("manager close: %v", err)
		}
	})
	return m
}

// recordingListener records every Listener call as a line such as "joined alice"; the
// periodic volume and quality reports go to their own lists (metrics_test.go).
type recordingListener struct {
	mu      sync.Mutex
	events  []string
	volumes []volumeReport
	quality []qualityReport
}

func (l *recordingListener) add(format string, args ...any) {
	l.mu.Lock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *recordingListener) ParticipantJoined(id room.ID, user string) {
	l.add("%s joined %s", id, user)
}
func (l *recordingListener) ParticipantLeft(id room.ID, user string) { l.add("%s left %s", id, user) }
func (l *recordingListener) TrackPublished(id room.ID, user string, k room.TrackKind) {
	l.add("%s published %s %s", id, user, k)
}
func (l *recordingListener) TrackUnpublished(id room.ID, user string, k room.TrackKind) {
	l.add("%s unpublished %s %s", id, user, k)
}
func (l *recordingListener) TrackMuted(id room.ID, user string, k room.TrackKind, muted bool) {
	l.add("%s muted %s %s %v", id, user, k, muted)
}
func (l *recordingListener) RoomClosed(id room.ID) { l.add("%s closed", id) }

func (l *recordingListener) VoiceVolumes(id room.ID, volumes map[string]int) {
	l.mu.Lock()
	l.volumes = append(l.volumes, volumeReport{room: id, at: time.Now(), volumes: volumes})
	l.mu.Unlock()
}

func (l *recordingListener) NetworkQuality(id room.ID, list []room.UserQuality) {
	l.mu.Lock()
	l.quality = append(l.quality, qualityReport{room: id, at: time.Now(), list: list})
	l.mu.Unlock()
}

func (l *recordingListener) PublishLayersChanged(id room.ID, user string, layers []room.PublishLayer) {
	var b strings.Builder
	for _, x := range layers {
		fmt.Fprintf(&b, " %s:%v", x.RID, x.Active)
	}
	l.add("%s layers %s%s", id, user, b.String())
}

func (l *recordingListener) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

func (l *recordingListener) has(event string) bool {
	return slices.Contains(l.snapshot(), event)
}

// indexOf returns the position of event, -1 when absent.
func (l *recordingListener) indexOf(event string) int {
	return slices.Index(l.snapshot(), event)
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, timeout, what, cond)
}

// queue runs messages in order on one goroutine, like one direction of a WebSocket. A
// message sent after close is dropped (a server goroutine may still negotiate while the
// test closes its wire, as on a socket that went away).
type queue struct {
	ch   chan func()
	done chan struct{}

	mu     sync.Mutex // orders send against close
	closed bool
}

func newQueue() *queue {
	q := &queue{ch: make(chan func(), 1024), done: make(chan struct{})}
	go func() {
		defer close(q.done)
		for f := range q.ch {
			f()
		}
	}()
	return q
}

func (q *queue) send(f func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.ch <- f
	}
}

func (q *queue) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()
	<-q.done
}

// wire is one user: a client (publisher and/or subscriber PeerConnections) and its
// Participant, connected by two in-order queues. It is the test's Signaller.
type wire struct {
	t        *testing.T
	userID   string
	part     *room.Participant
	pub      *client.Publisher
	sub      *client.Subscriber
	toClient *queue // server → client
	toServer *queue // client → server
	// candidateDelay holds each candidate back, both ways, before the other side gets it.
	candidateDelay time.Duration
	offers         atomic.Int32 // subscriber offers sent to the client

	mu     sync.Mutex
	errs   []error
	closed bool
}

func (w *wire) fail(err error) {
	if err == nil || errors.Is(err, room.ErrParticipantLeft) || errors.Is(err, client.ErrClosed) {
		return
	}
	w.mu.Lock()
	if !w.closed {
		w.errs = append(w.errs, err)
	}
	w.mu.Unlock()
}

// SendSubscriberOffer delivers the server's offer to the client, which answers.
func (w *wire) SendSubscriberOffer(offer webrtc.SessionDescription) {
	w.offers.Add(1)
	w.toClient.send(func() {
		answer, err := w.sub.HandleOffer(offer)
		if err != nil {
			w.fail(fmt.Errorf("%s: client handle offer: %w", w.userID, err))
			return
		}
		w.toServer.send(func() {
			w.fail(w.part.HandleSubscriberAnswer(answer))
		})
		w.sub.MarkLocalDescriptionSent()
	})
}

// SendCandidate delivers a server candidate to the client's matching PeerConnection.
func (w *wire) SendCandidate(target room.Target, c webrtc.ICECandidateInit) {
	w.toClient.send(func() {
		time.Sleep(w.candidateDelay)
		switch target {
		case room.TargetPublisher:
			if w.pub != nil {
				w.fail(w.pub.AddICECandidate(c))
			}
		case room.TargetSubscriber:
			w.fail(w.sub.AddICECandidate(c))
		}
	})
}

type wireOptions struct {
	publish  bool
	dropRate float64
	audioOff bool
	// Link statistics tests (metrics_test.go): audioLevel 0 keeps the default 30 (-30 dBov);
	// videoOff publishes audio only; loss and link impair the client's network path.
	audioLevel uint8
	videoOff   bool
	loss       float64
	link       *client.LinkSwitch
	// downlink limits the rate towards the subscriber (bandwidth adaptation tests).
	downlink *client.DownlinkShaper
	// early joins with JoinOptions.Early (early_test.go); expect are its
	// JoinOptions.Expect (with ExpectVideo).
	early  bool
	expect []string
	// keyframeInterval is the publisher's keyframe interval in frames (0: the client's
	// default, 60).
	keyframeInterval int
	// candidateDelay holds the candidates back both ways (a connection that takes long
	// to set up).
	candidateDelay time.Duration
}

// join builds the client, joins the room and, when publishing, negotiates the publisher
// PeerConnection (media starts with w.pub.Start).
func join(t *testing.T, m *room.Manager, id room.ID, userID string, opts wireOptions) *wire {
	t.Helper()
	w := &wire{t: t, userID: userID, toClient: newQueue(), toServer: newQueue(), candidateDelay: opts.candidateDelay}
	var err error
	w.sub, err = client.NewSubscriber(client.SubscriberConfig{Peer: client.PeerConfig{
		Loopback: true, DropRate: opts.dropRate, DropSeed: int64(len(userID)),
		UnrepairedLoss: opts.loss, Link: opts.link, Downlink: opts.downlink,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if opts.publish {
		level := opts.audioLevel
		if level == 0 {
			level = 30
		}
		w.pub, err = client.NewPublisher(client.PublisherConfig{
			Peer: client.PeerConfig{Loopback: true, Link: opts.link}, StreamID: userID, AudioLevel: level, VoiceActivity: true,
			NoAudio: opts.audioOff, NoVideo: opts.videoOff, KeyframeInterval: opts.keyframeInterval,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(w.close)
	// The server may offer (existing audio) before Join returns; the client's answer
	// waits in the toServer queue until w.part is set.
	joined := make(chan struct{})
	w.toServer.send(func() { <-joined })
	w.part, err = m.JoinWith(id, userID, room.JoinOptions{Rights: room.FullRights, Early: opts.early, Expect: opts.expect, ExpectVideo: len(opts.expect) > 0}, w)
	close(joined)
	if err != nil {
		t.Fatalf("join %s as %s: %v", id, userID, err)
	}
	w.sub.OnICECandidate(func(c webrtc.ICECandidateInit) {
		w.toServer.send(func() {
			time.Sleep(w.candidateDelay)
			w.fail(w.part.AddICECandidate(room.TargetSubscriber, c))
		})
	})
	if opts.publish {
		w.negotiatePublisher(t)
	}
	return w
}

// negotiatePublisher has w.pub's candidates go to the server, offers it to w's
// participant through the toServer queue and applies the answer.
func (w *wire) negotiatePublisher(t *testing.T) {
	t.Helper()
	w.pub.OnICECandidate(func(c webrtc.ICECandidateInit) {
		w.toServer.send(func() { w.fail(w.part.AddICECandidate(room.TargetPublisher, c)) })
	})
	offer, err := w.pub.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan webrtc.SessionDescription, 1)
	w.toServer.send(func() {
		answer, err := w.part.HandlePublisherOffer(offer)
		if err != nil {
			w.fail(err)
			close(answered)
			return
		}
		answered <- answer
	})
	w.pub.MarkLocalDescriptionSent()
	answer, ok := <-answered
	if !ok {
		t.Fatalf("%s: publisher offer rejected: %v", w.userID, w.errors())
	}
	if err := w.pub.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
}

func (w *wire) errors() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.errs)
}

// checkNoErrors fails the test if any signalling step failed.
func (w *wire) checkNoErrors(t *testing.T) {
	t.Helper()
	for _, err := range w.errors() {
		t.Errorf("%s signalling: %v", w.userID, err)
	}
}

// close leaves the room and closes the client; idempotent.
func (w *wire) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	if w.part != nil {
		if err := w.part.Leave(); err != nil {
			w.t.Errorf("%s leave: %v", w.userID, err)
		}
	}
	if w.pub != nil {
		if err := w.pub.Close(); err != nil {
			w.t.Errorf("%s publisher close: %v", w.userID, err)
		}
	}
	if err := w.sub.Close(); err != nil {
		w.t.Errorf("%s subscriber close: %v", w.userID, err)
	}
	// The client side first: its messages may still queue answers towards the server.
	w.toClient.close()
	w.toServer.close()
}

// track returns the subscriber's stats of the kind track published by streamID.
func (w *wire) track(streamID string, kind webrtc.RTPCodecType) (client.TrackStats, bool) {
	var found client.TrackStats
	ok := false
	for _, tr := range w.sub.Tracks() {
		if tr.StreamID == streamID && tr.Kind == kind {
			found, ok = tr, true // the latest one wins
		}
	}
	return found, ok
}

func describe(tracks []client.TrackStats) string {
	var b strings.Builder
	for _, tr := range tracks {
		fmt.Fprintf(&b, "\n  %s/%s %s: packets %d unique %d dup %d ooo %d seqgaps %d blocks %d..%d blockgaps %d payloaderr %d ended %v firstkey %v plis %d",
			tr.StreamID, tr.TrackID, tr.Kind, tr.Packets, tr.Unique, tr.Duplicates, tr.OutOfOrder, tr.SeqGaps,
			tr.FirstBlockSeq, tr.LastBlockSeq, tr.BlockGaps, tr.PayloadErrors, tr.Ended, tr.FirstKeyframe, tr.PLIsSent)
	}
	return b.String()
}
