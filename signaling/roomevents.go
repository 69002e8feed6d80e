package signaling

import (
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// roomListener turns room changes into events for the users in the room (D15, D19). It
// runs on the rooms' event goroutines.
type roomListener struct{ s *Service }

// membersLocked returns the sessions in room id, by user.
func (s *Service) membersLocked(id room.ID) map[string]*session {
	out := map[string]*session{}
	r, ok := s.rooms.Room(id)
	if !ok {
		return out
	}
	for _, info := range r.Participants() {
		if u := s.users[info.UserID]; u != nil {
			for _, sess := range u.sessions {
				if sess.inRoom(id) {
					out[info.UserID] = sess
				}
			}
		}
	}
	return out
}

// toOthers sends an event to everyone in the room but userID.
func (l roomListener) toOthers(id room.ID, userID, method string, params any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	for uid, sess := range l.s.membersLocked(id) {
		if uid != userID {
			sess.notify(method, params)
		}
	}
}

// ParticipantJoined: the others get onUserJoin; the newcomer learns who is there and what
// they publish.
func (l roomListener) ParticipantJoined(id room.ID, userID string) {
	wire := roomIDToWire(id)
	l.toOthers(id, userID, protocol.EventUserJoin, protocol.UserJoinEvent{UserID: userID, RoomID: wire})

	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	members := l.s.membersLocked(id)
	self := members[userID]
	r, ok := l.s.rooms.Room(id)
	if self == nil || !ok {
		return
	}
	for _, info := range r.Participants() {
		if info.UserID == userID {
			continue
		}
		self.notify(protocol.EventUserJoin, protocol.UserJoinEvent{UserID: info.UserID, RoomID: wire})
		if info.VideoPublished && !info.VideoMuted {
			self.notify(protocol.EventUserVideoAvailable, protocol.UserVideoAvailableEvent{UserID: info.UserID, IsVideoAvailable: true})
		}
		if info.AudioPublished && !info.AudioMuted {
			self.notify(protocol.EventUserAudioAvailable, protocol.UserAudioAvailableEvent{UserID: info.UserID, IsAudioAvailable: true})
		}
	}
}

func (l roomListener) ParticipantLeft(id room.ID, userID string) {
	l.toOthers(id, userID, protocol.EventUserLeave, protocol.UserLeaveEvent{UserID: userID, RoomID: roomIDToWire(id)})
}

func (l roomListener) TrackPublished(id room.ID, userID string, kind room.TrackKind) {
	l.available(id, userID, kind, true)
}

func (l roomListener) TrackUnpublished(id room.ID, userID string, kind room.TrackKind) {
	l.available(id, userID, kind, false)
}

func (l roomListener) TrackMuted(id room.ID, userID string, kind room.TrackKind, muted bool) {
	l.available(id, userID, kind, !muted)
}

func (l roomListener) RoomClosed(room.ID) {}

func (l roomListener) available(id room.ID, userID string, kind room.TrackKind, on bool) {
	if kind == room.KindVideo {
		l.toOthers(id, userID, protocol.EventUserVideoAvailable, protocol.UserVideoAvailableEvent{UserID: userID, IsVideoAvailable: on})
		return
	}
	l.toOthers(id, userID, protocol.EventUserAudioAvailable, protocol.UserAudioAvailableEvent{UserID: userID, IsAudioAvailable: on})
}

// toAll sends an event to everyone in the room, the user it is about included.
func (l roomListener) toAll(id room.ID, method string, params any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	for _, sess := range l.s.membersLocked(id) {
		sess.notify(method, params)
	}
}

// VoiceVolumes: everyone gets onUserVoiceVolumeChanged with every audio publisher's
// volume, self included (D20).
func (l roomListener) VoiceVolumes(id room.ID, volumes map[string]int) {
	l.toAll(id, protocol.EventUserVoiceVolumeChanged, protocol.UserVoiceVolumeChangedEvent{VolumeMap: volumes})
}

// NetworkQuality: everyone gets onUserNetworkQualityChanged with every user's quality,
// self included (D21).
func (l roomListener) NetworkQuality(id room.ID, list []room.UserQuality) {
	out := make([]protocol.NetworkQualityInfo, 0, len(list))
	for _, q := range list {
		out = append(out, protocol.NetworkQualityInfo{UserID: q.UserID, Quality: protocol.NetworkQuality(q.Quality)})
	}
	l.toAll(id, protocol.EventUserNetworkQualityChanged, protocol.UserNetworkQualityChangedEvent{NetworkQualityList: out})
}
