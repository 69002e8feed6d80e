package signaling

import (
	"maps"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// roomListener turns room changes into events for the users in the room (D15, D19). It
// runs on the rooms' event goroutines, one goroutine per room, in the order of the room's
// changes.
//
// A user is "present" from its ParticipantJoined (its media session is up) to its
// ParticipantLeft. Only present users get a room's events, and about present users only:
// a newcomer learns who is present and what they publish when it becomes present itself,
// so nobody hears of a user twice or before its onUserJoin.
type roomListener struct{ s *Service }

// sessionInRoomLocked is userID's session that is in room id (a room of its app), or nil.
func (s *Service) sessionInRoomLocked(id room.ID, userID string) *session {
	if sess := s.ingest[id][userID]; sess != nil { // a WHIP publisher (whip_session.go)
		return sess
	}
	t := s.tenants[id.App()]
	if t == nil {
		return nil
	}
	if u := t.users[userID]; u != nil {
		for _, sess := range u.sessions {
			if sess.inRoom(id) {
				return sess
			}
		}
	}
	return nil
}

// infoLocked is userID's published state in room id.
func (s *Service) infoLocked(id room.ID, userID string) (room.ParticipantInfo, bool) {
	members, _ := s.roomMembers(id)
	for _, info := range members {
		if info.UserID == userID {
			return info, true
		}
	}
	return room.ParticipantInfo{}, false
}

// tellAvailability sends what info's user publishes to sess (D19).
func tellAvailability(sess *session, info room.ParticipantInfo) {
	if info.VideoPublished && !info.VideoMuted {
		sess.post(protocol.EventUserVideoAvailable, protocol.UserVideoAvailableEvent{UserID: info.UserID, IsVideoAvailable: true})
	}
	if info.AudioPublished && !info.AudioMuted {
		sess.post(protocol.EventUserAudioAvailable, protocol.UserAudioAvailableEvent{UserID: info.UserID, IsAudioAvailable: true})
	}
}

// ParticipantJoined: the present users get onUserJoin and the newcomer's availability; the
// newcomer gets the same about each of them (D15, D19).
func (l roomListener) ParticipantJoined(id room.ID, userID string) {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	self := s.sessionInRoomLocked(id, userID)
	if self == nil {
		return
	}
	wire := roomIDToWire(id)
	present := s.present[id]
	if present == nil {
		present = map[string]*session{}
		s.present[id] = present
	}
	selfInfo, _ := s.infoLocked(id, userID)
	for other, sess := range present {
		sess.post(protocol.EventUserJoin, protocol.UserJoinEvent{UserID: userID, RoomID: wire})
		tellAvailability(sess, selfInfo)
		self.post(protocol.EventUserJoin, protocol.UserJoinEvent{UserID: other, RoomID: wire})
		if info, ok := s.infoLocked(id, other); ok {
			tellAvailability(self, info)
		}
	}
	present[userID] = self
}

// ParticipantLeft: the other present users get onUserLeave (D15). A user that left by
// leaving its call was taken out of the present users already, when the call machine
// decided it (Service.departLocked, D240): the room's later report of the leave finds it
// gone and tells nobody again.
func (l roomListener) ParticipantLeft(id room.ID, userID string) {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.departLocked(id, userID)
}

// departLocked takes userID out of the present users of room id; the other present users
// get onUserLeave(userID) on their queues, behind what was queued for them before. Nothing
// happens when userID is not present (its media session never came up, or it was told
// already).
func (s *Service) departLocked(id room.ID, userID string) {
	present := s.present[id]
	if _, ok := present[userID]; !ok {
		return
	}
	delete(present, userID)
	delete(s.volumesSent[id], userID)
	for _, sess := range present {
		sess.post(protocol.EventUserLeave, protocol.UserLeaveEvent{UserID: userID, RoomID: roomIDToWire(id)})
	}
	if len(present) == 0 {
		delete(s.present, id)
		delete(s.volumesSent, id)
	}
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

// RoomClosed forgets the room.
func (l roomListener) RoomClosed(id room.ID) {
	l.s.mu.Lock()
	delete(l.s.present, id)
	delete(l.s.volumesSent, id)
	l.s.mu.Unlock()
}

// toOthers sends an event about a present user to the other present users.
func (l roomListener) toOthers(id room.ID, userID, method string, params any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	present := l.s.present[id]
	if _, ok := present[userID]; !ok {
		return // told with its onUserJoin instead
	}
	for uid, sess := range present {
		if uid != userID {
			sess.post(method, params)
		}
	}
}

// toAll sends an event to every present user of the room.
func (l roomListener) toAll(id room.ID, method string, params any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	for _, sess := range l.s.present[id] {
		sess.post(method, params)
	}
}

// VoiceVolumes: everyone gets onUserVoiceVolumeChanged with every audio publisher's
// volume, self included, unless it equals the last map that user got (D20). The room
// repeats an unchanged map when someone joined, so a newcomer hears the current volumes.
// The map is never modified (the room made it for the listeners), so it is kept as is.
func (l roomListener) VoiceVolumes(id room.ID, volumes map[string]int) {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	present := s.present[id]
	if len(present) == 0 {
		return
	}
	if s.volumesSent == nil {
		s.volumesSent = make(map[room.ID]map[string]map[string]int)
	}
	sent := s.volumesSent[id]
	if sent == nil {
		sent = make(map[string]map[string]int, len(present))
		s.volumesSent[id] = sent
	}
	event := protocol.UserVoiceVolumeChangedEvent{VolumeMap: volumes}
	for userID, sess := range present {
		if last, ok := sent[userID]; ok && maps.Equal(last, volumes) {
			continue
		}
		sent[userID] = volumes
		sess.post(protocol.EventUserVoiceVolumeChanged, event)
	}
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

// PublishLayersChanged: the publisher alone gets onPublishLayersChanged with which of
// its simulcast layers some subscriber needs.
func (l roomListener) PublishLayersChanged(id room.ID, userID string, layers []room.PublishLayer) {
	out := make([]protocol.PublishLayerState, len(layers))
	for i, x := range layers {
		out[i] = protocol.PublishLayerState{RID: x.RID, Active: x.Active}
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if sess, ok := l.s.present[id][userID]; ok {
		sess.post(protocol.EventPublishLayersChanged, protocol.PublishLayersChangedEvent{UserID: userID, Layers: out})
	}
}

func (l roomListener) available(id room.ID, userID string, kind room.TrackKind, on bool) {
	if kind == room.KindVideo {
		l.toOthers(id, userID, protocol.EventUserVideoAvailable, protocol.UserVideoAvailableEvent{UserID: userID, IsVideoAvailable: on})
		return
	}
	l.toOthers(id, userID, protocol.EventUserAudioAvailable, protocol.UserAudioAvailableEvent{UserID: userID, IsAudioAvailable: on})
}
