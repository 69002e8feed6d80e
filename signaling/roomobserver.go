package signaling

import "github.com/parley-rtc/parley/room"

// teeListener hands every room event to the Service's own listener, then to the observer
// of Deps.RoomEvents (metrics, webhooks). Both run on the room's event goroutine, in the
// room's order, without the Service lock held. The VoiceVolumes map and NetworkQuality
// slice are shared: the observer must not modify them.
type teeListener struct {
	primary  room.Listener
	observer room.Listener
}

func (t teeListener) ParticipantJoined(id room.ID, userID string) {
	t.primary.ParticipantJoined(id, userID)
	t.observer.ParticipantJoined(id, userID)
}

func (t teeListener) ParticipantLeft(id room.ID, userID string) {
	t.primary.ParticipantLeft(id, userID)
	t.observer.ParticipantLeft(id, userID)
}

func (t teeListener) TrackPublished(id room.ID, userID string, kind room.TrackKind) {
	t.primary.TrackPublished(id, userID, kind)
	t.observer.TrackPublished(id, userID, kind)
}

func (t teeListener) TrackUnpublished(id room.ID, userID string, kind room.TrackKind) {
	t.primary.TrackUnpublished(id, userID, kind)
	t.observer.TrackUnpublished(id, userID, kind)
}

func (t teeListener) TrackMuted(id room.ID, userID string, kind room.TrackKind, muted bool) {
	t.primary.TrackMuted(id, userID, kind, muted)
	t.observer.TrackMuted(id, userID, kind, muted)
}

func (t teeListener) RoomClosed(id room.ID) {
	t.primary.RoomClosed(id)
	t.observer.RoomClosed(id)
}

func (t teeListener) VoiceVolumes(id room.ID, volumes map[string]int) {
	t.primary.VoiceVolumes(id, volumes)
	t.observer.VoiceVolumes(id, volumes)
}

func (t teeListener) NetworkQuality(id room.ID, list []room.UserQuality) {
	t.primary.NetworkQuality(id, list)
	t.observer.NetworkQuality(id, list)
}

func (t teeListener) PublishLayersChanged(id room.ID, userID string, layers []room.PublishLayer) {
	t.primary.PublishLayersChanged(id, userID, layers)
	t.observer.PublishLayersChanged(id, userID, layers)
}
