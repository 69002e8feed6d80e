package room

import (
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// Sentinel errors; returned wrapped with context, test with errors.Is.
var (
	// ErrAlreadyInRoom: the userId already has a participant in that room.
	ErrAlreadyInRoom = errors.New("user already in room")
	// ErrManagerClosed: the Manager was closed.
	ErrManagerClosed = errors.New("room manager closed")
	// ErrParticipantLeft: the participant has left its room.
	ErrParticipantLeft = errors.New("participant left")
	// ErrOwnTracks: a participant asked to view its own tracks.
	ErrOwnTracks = errors.New("participant cannot view its own tracks")
	// ErrInvalidTarget: a target name is neither "publisher" nor "subscriber".
	ErrInvalidTarget = errors.New("invalid peer target")
	// ErrInvalidUserID: an empty userId.
	ErrInvalidUserID = errors.New("invalid user id")
	// ErrTooManyRemoteViews: a remote-view wish beyond room.max_pending_remote_views for
	// users who are not in the room.
	ErrTooManyRemoteViews = errors.New("too many remote-view wishes for users not in the room")
	// ErrNotNegotiated: a subscriber answer or a candidate for a PeerConnection the
	// participant does not have yet (its client has not negotiated it: the publisher
	// PeerConnection starts with the client's first offer, the subscriber one with the
	// server's first offer).
	ErrNotNegotiated = errors.New("peer connection not negotiated yet")
	// ErrRoomFull: the room already has room.max_participants participants (D328).
	ErrRoomFull = errors.New("room full")
	// ErrRoomQuota: the join would open a room beyond its app's JoinOptions.MaxAppRooms
	// open rooms on this Manager (D327).
	ErrRoomQuota = errors.New("app room quota reached")
)

// Target names one of a participant's two PeerConnections.
type Target int

const (
	// TargetPublisher is the PeerConnection the client offers and sends on.
	TargetPublisher Target = iota + 1
	// TargetSubscriber is the PeerConnection the server offers and sends on.
	TargetSubscriber
)

// String is the wire name: "publisher" or "subscriber".
func (t Target) String() string {
	switch t {
	case TargetPublisher:
		return "publisher"
	case TargetSubscriber:
		return "subscriber"
	}
	return fmt.Sprintf("Target(%d)", int(t))
}

// ParseTarget parses a wire name.
func ParseTarget(s string) (Target, error) {
	switch s {
	case "publisher":
		return TargetPublisher, nil
	case "subscriber":
		return TargetSubscriber, nil
	}
	return 0, fmt.Errorf("target %q is not publisher or subscriber: %w", s, ErrInvalidTarget)
}

// TrackKind is audio or video.
type TrackKind int

const (
	// KindAudio is a microphone track.
	KindAudio TrackKind = iota + 1
	// KindVideo is a camera track.
	KindVideo
)

func (k TrackKind) String() string {
	switch k {
	case KindAudio:
		return "audio"
	case KindVideo:
		return "video"
	}
	return fmt.Sprintf("TrackKind(%d)", int(k))
}

func kindOf(t webrtc.RTPCodecType) TrackKind {
	if t == webrtc.RTPCodecTypeVideo {
		return KindVideo
	}
	return KindAudio
}

// Signaller carries one participant's negotiation messages to its client (implemented by
// the session). Calls come from sfu goroutines, never under a room lock.
type Signaller interface {
	// SendSubscriberOffer sends the server's offer on the subscriber PeerConnection; the
	// client answers through Participant.HandleSubscriberAnswer.
	SendSubscriberOffer(offer webrtc.SessionDescription)
	// SendCandidate sends a local ICE candidate of the target PeerConnection.
	SendCandidate(target Target, c webrtc.ICECandidateInit)
}

// Listener hears room changes (implemented by signaling). Calls come from the room's event
// goroutine, one at a time and in the order the changes happened, without room locks held.
type Listener interface {
	// ParticipantJoined: the participant's first PeerConnection reached connected; for
	// an early participant (JoinOptions.Early) not before Participant.Activate.
	ParticipantJoined(room ID, userID string)
	// ParticipantLeft: after Leave, only when ParticipantJoined was reported.
	ParticipantLeft(room ID, userID string)
	TrackPublished(room ID, userID string, kind TrackKind)
	TrackUnpublished(room ID, userID string, kind TrackKind)
	TrackMuted(room ID, userID string, kind TrackKind, muted bool)
	// RoomClosed: the room was empty for room.empty_timeout, its last participant left a
	// room that closes when empty (JoinOptions.CloseWhenEmpty), or the Manager closed.
	RoomClosed(room ID)
	// VoiceVolumes: every room.volume_interval, the volume 0..100 of every participant
	// that publishes audio (muted or silent → 0), unless equal to the previous report
	// and no participant joined since (a newcomer must hear the current map; the listener
	// drops the repeat for those who heard it). The map is the Listener's to keep.
	VoiceVolumes(room ID, volumes map[string]int)
	// NetworkQuality: every room.quality_interval, the quality 0..6 of every participant,
	// in join order. The slice is the Listener's to keep.
	NetworkQuality(room ID, list []UserQuality)
	// PublishLayersChanged: which simulcast layers of userID's video some subscriber
	// needs changed (layers smallest first); the publisher may stop encoding the
	// inactive ones until a later call marks them active. The slice is the Listener's.
	PublishLayersChanged(room ID, userID string, layers []PublishLayer)
}

// PublishLayer is one simulcast layer of a published video and whether it is needed.
type PublishLayer struct {
	RID    string
	Active bool
}

// UserQuality is one participant's network quality: 0 Unknown, 1 Excellent .. 5 Vbad,
// 6 Down (the values of sfu/quality.Quality and of the wire enum).
type UserQuality struct {
	UserID  string
	Quality int
}

// NopListener ignores every event.
type NopListener struct{}

func (NopListener) ParticipantJoined(ID, string)                    {}
func (NopListener) ParticipantLeft(ID, string)                      {}
func (NopListener) TrackPublished(ID, string, TrackKind)            {}
func (NopListener) TrackUnpublished(ID, string, TrackKind)          {}
func (NopListener) TrackMuted(ID, string, TrackKind, bool)          {}
func (NopListener) RoomClosed(ID)                                   {}
func (NopListener) VoiceVolumes(ID, map[string]int)                 {}
func (NopListener) NetworkQuality(ID, []UserQuality)                {}
func (NopListener) PublishLayersChanged(ID, string, []PublishLayer) {}

// ParticipantInfo is a participant's published state.
type ParticipantInfo struct {
	UserID string
	// Early: joined with JoinOptions.Early and not activated yet; nothing it publishes
	// is published yet, and nobody may be told of it (signaling skips it).
	Early          bool
	AudioPublished bool
	AudioMuted     bool
	VideoPublished bool
	VideoMuted     bool
}

// Rights are what a participant may do in its room (the call service grants both to the
// users of a call; a room grant names them for a room outside calls).
type Rights struct {
	// Publish: the participant's tracks are forwarded to the others.
	Publish bool
	// Subscribe: the participant receives the others' tracks.
	Subscribe bool
}

// FullRights are publish and subscribe.
var FullRights = Rights{Publish: true, Subscribe: true}

// String renders the rights as the grant claim lists them ("publish,subscribe").
func (r Rights) String() string {
	switch {
	case r.Publish && r.Subscribe:
		return "publish,subscribe"
	case r.Publish:
		return "publish"
	case r.Subscribe:
		return "subscribe"
	default:
		return "none"
	}
}
