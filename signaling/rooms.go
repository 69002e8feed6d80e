package signaling

import (
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/room"
)

// participant is what a session does with its place in a room: a *room.Participant of this
// node's room.Manager, or a remoteParticipant whose room lives on another node of the
// cluster (room_remote.go, D95). Every method may be called from any goroutine.
type participant interface {
	UserID() string
	HandlePublisherOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error)
	HandleSubscriberAnswer(answer webrtc.SessionDescription) error
	AddICECandidate(target room.Target, c webrtc.ICECandidateInit) error
	StartRemoteView(publisherUserID string) error
	StopRemoteView(publisherUserID string) error
	SetRemoteViewQuality(publisherUserID string, width, height int) error
	SetMuted(kind room.TrackKind, muted bool)
	ActivateAt(acceptedAt time.Time) error
	Leave() error
}

var _ participant = (*room.Participant)(nil)

// joinRoom adds userID (signalled through sig) to room id where the room lives: on this
// node's room.Manager, or on the media node the room was placed on (placement.go). With
// deferred (a call member's join at the call's begin, D187) a room that placement would
// place by load waits for its first media request instead: the member is a
// deferredParticipant, joined where the room goes then (placement_defer.go).
func (s *Service) joinRoom(id room.ID, userID string, opts room.JoinOptions, sig *session, deferred bool) (participant, error) {
	if deferred && !opts.Early {
		dp := &deferredParticipant{pl: &s.placement, id: id, userID: userID, opts: opts, sess: sig}
		if waits, err := s.placement.wait(dp); err != nil || waits {
			if err != nil {
				return nil, err
			}
			return dp, nil
		}
	}
	node, placed, settle := s.placement.place(id, sig)
	s.placement.materialize(settle)
	return s.joinAt(node, id, userID, opts, sig, placed)
}

// joinAt joins userID to room id on node ("" this node); placed: the join is counted in
// the room's placement (placement.place), released when it fails or the member leaves.
func (s *Service) joinAt(node string, id room.ID, userID string, opts room.JoinOptions, sig *session, placed bool) (participant, error) {
	if node != "" {
		return s.placement.joinRemote(node, id, userID, opts, sig)
	}
	p, err := s.rooms.JoinWith(id, userID, opts, sig)
	switch {
	case err != nil:
		if placed {
			s.placement.release(id)
		}
		return nil, err
	case placed:
		return &placedLocal{Participant: p, release: func() { s.placement.release(id) }}, nil
	}
	return p, nil
}

// placedLocal is a participant of a local room that placement counts (placement.go): its
// Leave releases its place once.
type placedLocal struct {
	*room.Participant
	once    sync.Once
	release func()
}

func (p *placedLocal) Leave() error {
	defer p.once.Do(p.release)
	return p.Participant.Leave()
}

// roomMembers is the published state of the members of open room id, wherever it lives
// (a remote room: as its media node last reported it). Called with Service.mu held.
func (s *Service) roomMembers(id room.ID) ([]room.ParticipantInfo, bool) {
	if infos, ok := s.placement.members(id); ok {
		return infos, true
	}
	r, ok := s.rooms.Room(id)
	if !ok {
		return nil, false
	}
	return r.Participants(), true
}
