package sfu

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// A participant has up to two PeerConnections on the server: a Publisher (the client
// offers its tracks, the server answers and receives) and a Subscriber (the server
// offers DownTracks, the client answers and receives). Both are built on a transport:
// the PeerConnection with the Engine's certificate, the candidate policy
// (candidates.go), trickle ICE (trickle.go), the connection state and close.

// transport is the part a Publisher and a Subscriber share. Its mutex also guards the
// fields of the type that embeds it (one lock per PeerConnection).
type transport struct {
	id     string
	engine *Engine
	pc     *webrtc.PeerConnection
	logger *slog.Logger

	emitMu sync.Mutex // serializes delivery of local ICE candidates, keeping their order

	// mediaReady turns true once SRTP is up: before that pion silently drops what a
	// DownTrack writes, so DownTracks hold back (and video then starts at a keyframe).
	mediaReady atomic.Bool

	// onStep is OnConnectStep's function (timeline.go): atomic, as pion calls it under its
	// DTLS transport lock.
	onStep atomic.Pointer[func(step string)]

	// iceFailed, set before open, runs when the ICE state turns failed (pion then drops
	// its selected pair: the client's consent expired, RFC 7675).
	iceFailed func()

	mu             sync.Mutex
	closed         bool
	localSent      bool
	pendingLocal   []webrtc.ICECandidateInit
	remoteSet      bool
	pendingRemote  []webrtc.ICECandidateInit
	candidates     remoteCandidates // counted against the caps (candidates.go)
	onICECandidate func(webrtc.ICECandidateInit)
	onState        func(webrtc.PeerConnectionState)
	endedTotals    MediaTotals // counters of ended Receivers and removed DownTracks (totals.go)
}

// open builds the PeerConnection from api (the Engine's, or a Subscriber's own) and
// wires candidates and state; t is already in its Peer (pion's callbacks keep t).
func (t *transport) open(e *Engine, api *webrtc.API, cert webrtc.Certificate, id, kind string) error {
	pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{cert}})
	if err != nil {
		return fmt.Errorf("new %s %q: %w", kind, id, err)
	}
	t.id, t.engine, t.pc, t.logger = id, e, pc, e.logger.With("peer", id, "role", kind)
	pc.OnICECandidate(t.handleLocalCandidate)
	t.watchConnectSteps()
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			t.markMediaReady()
		}
		t.mu.Lock()
		f := t.onState
		t.mu.Unlock()
		if f != nil {
			f(s)
		}
	})
	return nil
}

// markMediaReady runs on pion's state-change goroutine once the PeerConnection is
// connected. The DTLS transport reports Connected under its lock only after the SRTP
// sessions exist, so reading its state waits for them.
func (t *transport) markMediaReady() {
	if sctp := t.pc.SCTP(); sctp != nil && sctp.Transport() != nil &&
		sctp.Transport().State() != webrtc.DTLSTransportStateConnected {
		return
	}
	t.mediaReady.Store(true)
}

// ID is the participant's ID.
func (t *transport) ID() string { return t.id }

// OnConnectionStateChange sets the function called on PeerConnection state changes.
func (t *transport) OnConnectionStateChange(f func(webrtc.PeerConnectionState)) {
	t.mu.Lock()
	t.onState = f
	t.mu.Unlock()
}

// ConnectionState is the PeerConnection's current state.
func (t *transport) ConnectionState() webrtc.PeerConnectionState {
	return t.pc.ConnectionState()
}

// markClosed marks the transport closed; false when it was already.
func (t *transport) markClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.closed = true
	return true
}

// closePC closes the PeerConnection.
func (t *transport) closePC() error {
	if err := t.pc.Close(); err != nil {
		return fmt.Errorf("close peer %s: %w", t.id, err)
	}
	return nil
}

// enginePeer is what the Engine keeps of a Publisher or a Subscriber.
type enginePeer interface {
	Close() error
	mediaTotals() MediaTotals
}

// NewPublisher creates the PeerConnection participant id publishes on, with the
// Engine's shared DTLS certificate; its tracks carry id as StreamID.
func (e *Engine) NewPublisher(id string) (*Publisher, error) {
	return addPeer(e, id, "publisher", func(cert webrtc.Certificate, api *webrtc.API) (*Publisher, error) {
		return newPublisher(e, api, cert, id)
	})
}

// NewSubscriber creates a PeerConnection the server sends DownTracks on, with the
// Engine's shared DTLS certificate.
func (e *Engine) NewSubscriber(opts SubscriberOptions) (*Subscriber, error) {
	return addPeer(e, opts.ID, "subscriber", func(cert webrtc.Certificate, _ *webrtc.API) (*Subscriber, error) {
		return newSubscriber(e, cert, opts)
	})
}

// addPeer builds a Peer with build and adds it to the Engine's set. The Engine's lock
// is not held while the PeerConnection is built.
func addPeer[P enginePeer](e *Engine, id, kind string, build func(webrtc.Certificate, *webrtc.API) (P, error)) (P, error) {
	var none P
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return none, ErrEngineClosed
	}
	if !e.started {
		e.mu.Unlock()
		return none, ErrNotStarted
	}
	api := e.api
	cert, err := e.certificateLocked(time.Now())
	e.mu.Unlock()
	if err != nil {
		return none, fmt.Errorf("new %s %q: %w", kind, id, err)
	}
	p, err := build(cert, api)
	if err != nil {
		return none, err
	}
	e.mu.Lock()
	if e.closed { // Close did not see this Peer: close it here
		e.mu.Unlock()
		_ = p.Close()
		return none, ErrEngineClosed
	}
	e.peers[p] = struct{}{}
	e.mu.Unlock()
	return p, nil
}

// Publishers returns the Engine's open Publishers (a snapshot; one may close right
// after).
func (e *Engine) Publishers() []*Publisher { return openPeers[*Publisher](e) }

// Subscribers returns the Engine's open Subscribers (a snapshot; one may close right
// after).
func (e *Engine) Subscribers() []*Subscriber { return openPeers[*Subscriber](e) }

func openPeers[P enginePeer](e *Engine) []P {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []P
	for p := range e.peers {
		if x, ok := p.(P); ok {
			out = append(out, x)
		}
	}
	return out
}

// PeerCount is how many Publishers and Subscribers are open.
func (e *Engine) PeerCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.peers)
}
