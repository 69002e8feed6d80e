package signaling

// The media node's side of per-room placement (placement.go, D95): it runs the rooms an
// owner placed here as rooms of its own room.Manager, the owner's remote participants as
// room.Participants, and sends back their negotiation and the rooms' events.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
)

// hostedParticipant is a participant this node hosts for an owner; its requests run one
// at a time in arrival order (reqs), and it is the room.Signaller of its participant.
type hostedParticipant struct {
	pl    *placement
	owner string
	key   string
	id    room.ID
	reqs  serial
	p     *room.Participant // set by the join (on reqs)
	ended bool              // left (on reqs)
}

// hostedRoom is a room with participants of an owner: its events go to that owner until
// it closes with none left.
type hostedRoom struct {
	owner   string
	members int
	closed  bool // its RoomClosed went to the owner (before or after its last member ended)
}

// hostRequest takes an owner's request for one of its participants (inbox goroutine).
func (pl *placement) hostRequest(from, key string, body []byte) {
	var req mediaRequest
	if err := json.Unmarshal(body, &req); err != nil {
		pl.s.log.Warn("media request not decodable", "from", from, "error", err)
		return
	}
	switch req.Op {
	case opRecord, opUnrecord, opRecordings:
		pl.hostNodeRequest(from, req) // recordings_cluster.go
		return
	}
	pl.mu.Lock()
	hp := pl.hosted[key]
	if hp == nil && req.Op == opJoin && req.Room != nil {
		hp = &hostedParticipant{pl: pl, owner: from, key: key, id: req.Room.id()}
		hp.reqs.count = &pl.s.effects
		if pl.hosted == nil {
			pl.hosted, pl.hrooms = make(map[string]*hostedParticipant), make(map[room.ID]*hostedRoom)
		}
		pl.hosted[key] = hp
		pl.total++
		hr := pl.hrooms[hp.id]
		if hr == nil || hr.owner != from {
			hr = &hostedRoom{owner: from}
			pl.hrooms[hp.id] = hr
		}
		hr.members++
		hr.closed = false
	}
	pl.mu.Unlock()
	if hp == nil || hp.owner != from {
		pl.toOwner(from, kindMediaResponse, key, mediaResponse{N: req.N, Err: "left", Msg: room.ErrParticipantLeft.Error()})
		return
	}
	hp.reqs.do(func() {
		r := hp.run(req)
		r.N = req.N
		pl.toOwner(hp.owner, kindMediaResponse, key, r)
	})
}

// run carries out one request on the participant (its reqs queue).
func (hp *hostedParticipant) run(req mediaRequest) mediaResponse {
	s := hp.pl.s
	if req.Op == opJoin {
		if hp.p != nil || hp.ended {
			return failedMedia(room.ErrAlreadyInRoom)
		}
		if req.Opts == nil {
			hp.end()
			return failedMedia(fmt.Errorf("join without options: %w", room.ErrInvalidUserID))
		}
		p, err := s.rooms.JoinWith(hp.id, req.User, *req.Opts, hp)
		if err != nil {
			hp.end()
			return failedMedia(err)
		}
		hp.p = p
		return mediaResponse{Infos: hp.pl.infos(hp.id)}
	}
	if hp.p == nil || hp.ended {
		return failedMedia(room.ErrParticipantLeft)
	}
	var (
		r   mediaResponse
		err error
	)
	switch req.Op {
	case opOffer:
		var answer webrtc.SessionDescription
		answer, err = hp.p.HandlePublisherOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: req.SDP})
		r.SDP = answer.SDP
	case opAnswer:
		err = hp.p.HandleSubscriberAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: req.SDP})
	case opCandidate:
		if req.Cand == nil {
			err = fmt.Errorf("candidate missing: %w", room.ErrInvalidTarget)
			break
		}
		err = hp.p.AddICECandidate(req.Target, *req.Cand)
	case opView:
		err = hp.p.StartRemoteView(req.User)
	case opUnview:
		err = hp.p.StopRemoteView(req.User)
	case opQuality:
		err = hp.p.SetRemoteViewQuality(req.User, req.Width, req.Height)
	case opMute:
		hp.p.SetMuted(req.Kind, req.Muted)
	case opActivate:
		var acceptedAt time.Time
		if req.Opts != nil {
			acceptedAt = req.Opts.AcceptedAt
		}
		err = hp.p.ActivateAt(acceptedAt)
	case opLeave:
		err = hp.leave()
		r.Infos = hp.pl.infos(hp.id)
	default:
		err = fmt.Errorf("media request %q unknown", req.Op)
	}
	if err != nil {
		e := failedMedia(err)
		e.Infos = r.Infos
		return e
	}
	return r
}

// leave takes the participant out of its room (reqs queue).
func (hp *hostedParticipant) leave() error {
	if hp.ended {
		return nil
	}
	var err error
	if hp.p != nil {
		err = hp.p.Leave()
	}
	hp.end()
	return err
}

// end forgets the participant; its room's events keep going to the owner until it closes.
func (hp *hostedParticipant) end() {
	hp.ended = true
	pl := hp.pl
	pl.mu.Lock()
	delete(pl.hosted, hp.key)
	if hr := pl.hrooms[hp.id]; hr != nil && hr.owner == hp.owner {
		hr.members--
		if hr.members <= 0 && hr.closed {
			delete(pl.hrooms, hp.id)
		}
	}
	pl.mu.Unlock()
}

// infos is the members of local room id ("" when it is not open).
func (pl *placement) infos(id room.ID) []room.ParticipantInfo {
	if r, ok := pl.s.rooms.Room(id); ok {
		return r.Participants()
	}
	return []room.ParticipantInfo{}
}

// SendSubscriberOffer is the room.Signaller of the hosted participant: to its owner.
func (hp *hostedParticipant) SendSubscriberOffer(offer webrtc.SessionDescription) {
	hp.pl.toOwner(hp.owner, kindMediaSignal, hp.key, mediaSignal{SDP: offer.SDP})
}

// SendCandidate is the room.Signaller of the hosted participant: to its owner.
func (hp *hostedParticipant) SendCandidate(target room.Target, c webrtc.ICECandidateInit) {
	hp.pl.toOwner(hp.owner, kindMediaSignal, hp.key, mediaSignal{Target: target, Cand: &c})
}

// toOwner queues a message to owner behind the ones queued before (answers, signals and
// events keep their order), retried while Redis is unreachable as the owner's messages to
// fronts are (D53). A message that still fails is logged and dropped: the owner notices a
// dead media node by its heartbeat, and this node a dead owner (ownerGone).
func (pl *placement) toOwner(owner, kind, key string, v any) {
	pl.toNode(owner, kind, key, func() any { return v }, func(err error) {
		pl.s.log.Debug("media message not sent", "owner", owner, "kind", kind, "error", err)
	})
}

// toNode queues the message build makes (on the queue, not the caller's goroutine) to
// node behind the ones queued to it before, retried while Redis is unreachable; failed
// (may be nil) hears of one that could not be sent.
func (pl *placement) toNode(node, kind, key string, build func() any, failed func(error)) {
	pl.mu.Lock()
	if pl.outs == nil {
		pl.outs = make(map[string]*serial)
	}
	q := pl.outs[node]
	if q == nil {
		q = &serial{count: &pl.s.effects}
		pl.outs[node] = q
	}
	pl.mu.Unlock()
	q.do(func() {
		body, err := json.Marshal(build())
		if err != nil {
			pl.s.log.Error("cluster message not encodable", "kind", kind, "error", err)
			return
		}
		if err := pl.s.relays.sendRetrying(context.Background(), node, kind, key, body); err != nil && failed != nil {
			failed(err)
		}
	})
}

// hostOwner is the owner node that room id's events go to, "" for a room of this node.
func (pl *placement) hostOwner(id room.ID) string {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if hr := pl.hrooms[id]; hr != nil {
		return hr.owner
	}
	return ""
}

// ownerGone drops what this node hosts for an owner that died: its participants leave
// (their calls ended with the owner, D50).
func (pl *placement) ownerGone(owner string) {
	pl.mu.Lock()
	var ps []*hostedParticipant
	for _, hp := range pl.hosted {
		if hp.owner == owner {
			ps = append(ps, hp)
		}
	}
	delete(pl.outs, owner)
	pl.mu.Unlock()
	for _, hp := range ps {
		hp.reqs.do(func() { _ = hp.leave() })
	}
	pl.unrecordOwner(owner) // recordings_cluster.go
}

// placementListener sends the events of rooms hosted for an owner to that owner and the
// others to the local listener (roomListener).
type placementListener struct {
	pl    *placement
	local room.Listener
}

// forward reports whether room id is hosted for an owner, and if so sends it ev.
func (l placementListener) forward(id room.ID, ev mediaEvent, withInfos bool) bool {
	owner := l.pl.hostOwner(id)
	if owner == "" {
		return false
	}
	ev.Room = toWireRoom(id)
	if withInfos {
		ev.Infos = l.pl.infos(id)
	}
	l.pl.toOwner(owner, kindMediaEvent, "", ev)
	return true
}

func (l placementListener) ParticipantJoined(id room.ID, userID string) {
	if !l.forward(id, mediaEvent{Ev: evJoined, User: userID}, true) {
		l.local.ParticipantJoined(id, userID)
	}
}

func (l placementListener) ParticipantLeft(id room.ID, userID string) {
	if !l.forward(id, mediaEvent{Ev: evLeft, User: userID}, true) {
		l.local.ParticipantLeft(id, userID)
	}
}

func (l placementListener) TrackPublished(id room.ID, userID string, kind room.TrackKind) {
	if !l.forward(id, mediaEvent{Ev: evPublished, User: userID, Kind: kind}, true) {
		l.local.TrackPublished(id, userID, kind)
	}
}

func (l placementListener) TrackUnpublished(id room.ID, userID string, kind room.TrackKind) {
	if !l.forward(id, mediaEvent{Ev: evUnpublished, User: userID, Kind: kind}, true) {
		l.local.TrackUnpublished(id, userID, kind)
	}
}

func (l placementListener) TrackMuted(id room.ID, userID string, kind room.TrackKind, muted bool) {
	if !l.forward(id, mediaEvent{Ev: evMuted, User: userID, Kind: kind, Muted: muted}, true) {
		l.local.TrackMuted(id, userID, kind, muted)
	}
}

// RoomClosed: a hosted room that closed with no hosted participant left is forgotten.
func (l placementListener) RoomClosed(id room.ID) {
	if !l.forward(id, mediaEvent{Ev: evClosed}, false) {
		l.local.RoomClosed(id)
		return
	}
	l.pl.mu.Lock()
	if hr := l.pl.hrooms[id]; hr != nil {
		hr.closed = true
		if hr.members <= 0 {
			delete(l.pl.hrooms, id)
		}
	}
	l.pl.mu.Unlock()
}

func (l placementListener) VoiceVolumes(id room.ID, volumes map[string]int) {
	if !l.forward(id, mediaEvent{Ev: evVolumes, Volumes: volumes}, false) {
		l.local.VoiceVolumes(id, volumes)
	}
}

func (l placementListener) NetworkQuality(id room.ID, list []room.UserQuality) {
	if !l.forward(id, mediaEvent{Ev: evQuality, Quality: list}, false) {
		l.local.NetworkQuality(id, list)
	}
}

func (l placementListener) PublishLayersChanged(id room.ID, userID string, layers []room.PublishLayer) {
	if !l.forward(id, mediaEvent{Ev: evLayers, User: userID, Layers: layers}, false) {
		l.local.PublishLayersChanged(id, userID, layers)
	}
}

// mediaSentinels are the errors of room and sfu whose identity the signaling handlers
// test (errors.Is): a media node's answer names them, and the owner wraps them again.
var mediaSentinels = map[string]error{
	"alreadyInRoom":     room.ErrAlreadyInRoom,
	"left":              room.ErrParticipantLeft,
	"ownTracks":         room.ErrOwnTracks,
	"target":            room.ErrInvalidTarget,
	"notNegotiated":     room.ErrNotNegotiated,
	"tooManyViews":      room.ErrTooManyRemoteViews,
	"roomFull":          room.ErrRoomFull,
	"roomQuota":         room.ErrRoomQuota,
	"closed":            room.ErrManagerClosed,
	"invalidRoom":       room.ErrInvalidRoomID,
	"invalidUser":       room.ErrInvalidUserID,
	"tooManyCandidates": sfu.ErrTooManyCandidates,
	"candidateDenied":   sfu.ErrCandidateDenied,
}

// failedMedia is the answer of a failed request: err's text and the sentinel it wraps.
func failedMedia(err error) mediaResponse {
	r := mediaResponse{Err: "other", Msg: err.Error()}
	for name, sentinel := range mediaSentinels {
		if errors.Is(err, sentinel) {
			r.Err = name
			break
		}
	}
	return r
}

// remoteError is a media node's error: its text, and its sentinel for errors.Is.
type remoteError struct {
	msg      string
	sentinel error
}

func (e remoteError) Error() string { return e.msg }
func (e remoteError) Unwrap() error { return e.sentinel }

// decodeMediaError is the error an answer carries (nil when none).
func decodeMediaError(r mediaResponse) error {
	if r.Err == "" {
		return nil
	}
	return remoteError{msg: r.Msg, sentinel: mediaSentinels[r.Err]}
}
