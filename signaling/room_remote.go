package signaling

// The owner's side of a room placed on another node (placement.go, D95): the session's
// participant is a remoteParticipant, whose every method is a request to the media node.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/room"
)

// joinRemote joins userID to room id on media node node (rooms.go).
func (pl *placement) joinRemote(node string, id room.ID, userID string, opts room.JoinOptions, sess *session) (participant, error) {
	rp := &remoteParticipant{pl: pl, key: pl.s.relays.cl.ID() + "/" + randomHex(8), node: node, id: id,
		userID: userID, sess: sess, lost: make(chan struct{})}
	pl.mu.Lock()
	if pl.parts == nil {
		pl.parts = make(map[string]*remoteParticipant)
	}
	pl.parts[rp.key] = rp // before the join: the media node may signal at once
	pl.mu.Unlock()
	wr := toWireRoom(id)
	r, err := rp.call(mediaRequest{Op: opJoin, Room: &wr, User: userID, Opts: &opts})
	if err != nil {
		rp.forget()
		return nil, err
	}
	pl.noteMembers(id, node, r.Infos)
	return rp, nil
}

// remoteParticipant is a session's participant in a room on another node.
type remoteParticipant struct {
	pl     *placement
	key    string
	node   string
	id     room.ID
	userID string
	sess   *session
	lost   chan struct{} // closed when the media node died

	mu   sync.Mutex
	gone bool // left, or its node died: requests fail, Leave does nothing
}

// call sends req to the media node and waits for its answer (bounded like a relayed
// request; at once errMediaNodeLost when the node dies).
func (rp *remoteParticipant) call(req mediaRequest) (mediaResponse, error) {
	rp.mu.Lock()
	gone := rp.gone
	rp.mu.Unlock()
	if gone {
		return mediaResponse{}, errMediaNodeLost
	}
	ctx, cancel := context.WithTimeout(context.Background(), relayAnswerTimeout)
	defer cancel()
	return rp.pl.request(ctx, rp.node, rp.key, req, rp.lost)
}

// request sends req (about participant key, "" for the node itself) to node's inbox and
// waits for its answer until ctx ends (a cluster error) or lost is closed
// (errMediaNodeLost; nil never is).
func (pl *placement) request(ctx context.Context, node, key string, req mediaRequest, lost <-chan struct{}) (mediaResponse, error) {
	ch := make(chan mediaResponse, 1)
	pl.mu.Lock()
	pl.n++
	req.N = pl.n
	if pl.calls == nil {
		pl.calls = make(map[uint64]chan mediaResponse)
	}
	pl.calls[req.N] = ch
	pl.mu.Unlock()
	defer func() {
		pl.mu.Lock()
		delete(pl.calls, req.N)
		pl.mu.Unlock()
	}()
	body, err := json.Marshal(req)
	if err != nil {
		return mediaResponse{}, err
	}
	if err := pl.s.relays.send(node, kindMediaRequest, key, body); err != nil {
		return mediaResponse{}, fmt.Errorf("%w: %w", errClusterSend, clusterError(err)) // a 5002 on the wire
	}
	select {
	case r := <-ch:
		return r, decodeMediaError(r)
	case <-lost:
		return mediaResponse{}, errMediaNodeLost
	case <-ctx.Done():
		return mediaResponse{}, clusterError(fmt.Errorf("no answer from node %s: %w", node, ctx.Err()))
	}
}

// answered hands a media node's answer to the request waiting for it (inbox goroutine).
func (pl *placement) answered(body []byte) {
	var r mediaResponse
	if json.Unmarshal(body, &r) != nil {
		return
	}
	pl.mu.Lock()
	ch := pl.calls[r.N]
	delete(pl.calls, r.N)
	pl.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// forget drops the participant (left, or its join failed) and its place in the room.
func (rp *remoteParticipant) forget() {
	rp.mu.Lock()
	rp.gone = true
	rp.mu.Unlock()
	pl := rp.pl
	pl.mu.Lock()
	_, known := pl.parts[rp.key]
	delete(pl.parts, rp.key)
	pl.mu.Unlock()
	if known {
		pl.release(rp.id)
	}
}

func (rp *remoteParticipant) UserID() string { return rp.userID }

func (rp *remoteParticipant) HandlePublisherOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	r, err := rp.call(mediaRequest{Op: opOffer, SDP: offer.SDP})
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	return webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.SDP}, nil
}

func (rp *remoteParticipant) HandleSubscriberAnswer(answer webrtc.SessionDescription) error {
	_, err := rp.call(mediaRequest{Op: opAnswer, SDP: answer.SDP})
	return err
}

func (rp *remoteParticipant) AddICECandidate(target room.Target, c webrtc.ICECandidateInit) error {
	_, err := rp.call(mediaRequest{Op: opCandidate, Target: target, Cand: &c})
	return err
}

func (rp *remoteParticipant) StartRemoteView(publisher string) error {
	_, err := rp.call(mediaRequest{Op: opView, User: publisher})
	return err
}

func (rp *remoteParticipant) StopRemoteView(publisher string) error {
	_, err := rp.call(mediaRequest{Op: opUnview, User: publisher})
	return err
}

func (rp *remoteParticipant) SetRemoteViewQuality(publisher string, width, height int) error {
	_, err := rp.call(mediaRequest{Op: opQuality, User: publisher, Width: width, Height: height})
	return err
}

// SetMuted waits for the media node like the local call (its TrackMuted event follows).
func (rp *remoteParticipant) SetMuted(kind room.TrackKind, muted bool) {
	if _, err := rp.call(mediaRequest{Op: opMute, Kind: kind, Muted: muted}); err != nil {
		rp.sess.svc.log.Debug("remote mute", "user", rp.userID, "error", err)
	}
}

// ActivateAt carries the accept time in the request's options (JoinOptions.AcceptedAt):
// the media node measures the call's steps from it (both nodes' clocks count).
func (rp *remoteParticipant) ActivateAt(acceptedAt time.Time) error {
	_, err := rp.call(mediaRequest{Op: opActivate, Opts: &room.JoinOptions{AcceptedAt: acceptedAt}})
	return err
}

// Leave leaves the remote room; after the media node died it only forgets it.
func (rp *remoteParticipant) Leave() error {
	rp.mu.Lock()
	gone := rp.gone
	rp.mu.Unlock()
	if gone {
		rp.forget()
		return nil
	}
	r, err := rp.call(mediaRequest{Op: opLeave})
	switch {
	case err == nil:
		rp.pl.noteMembers(rp.id, rp.node, r.Infos)
	case errors.Is(err, errClusterSend):
		rp.leaveLater() // Redis unreachable: the media node must still hear it (D53)
	}
	rp.forget()
	return err
}

// leaveLater sends the leave again in the background, retried while Redis is unreachable
// (relays.sendRetrying); its answer is not waited for.
func (rp *remoteParticipant) leaveLater() {
	pl := rp.pl
	body, _ := json.Marshal(mediaRequest{Op: opLeave})
	pl.mu.Lock()
	if pl.leaves.count == nil {
		pl.leaves.count = &pl.s.effects
	}
	pl.mu.Unlock()
	pl.leaves.do(func() {
		if err := pl.s.relays.sendRetrying(context.Background(), rp.node, kindMediaRequest, rp.key, body); err != nil {
			pl.s.log.Info("leave of a remote room not delivered", "node", rp.node, "user", rp.userID, "error", err)
		}
	})
}
