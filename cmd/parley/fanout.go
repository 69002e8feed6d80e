package main

import (
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// hookFanout hands each signaling hook to every observer in order (metrics, webhooks).
// Like the hooks themselves, each observer must only count or enqueue.
type hookFanout []signaling.Hooks

func (f hookFanout) CallBegan(c call.CallSummary) {
	for _, h := range f {
		h.CallBegan(c)
	}
}

func (f hookFanout) CallEnded(c call.CallSummary) {
	for _, h := range f {
		h.CallEnded(c)
	}
}

func (f hookFanout) InviteeOffline(app int, callID, invitee string, inv protocol.CallReceivedEvent) {
	for _, h := range f {
		h.InviteeOffline(app, callID, invitee, inv)
	}
}

// roomFanout hands each room event to every observer in order.
type roomFanout []room.Listener

func (f roomFanout) ParticipantJoined(id room.ID, userID string) {
	for _, l := range f {
		l.ParticipantJoined(id, userID)
	}
}

func (f roomFanout) ParticipantLeft(id room.ID, userID string) {
	for _, l := range f {
		l.ParticipantLeft(id, userID)
	}
}

func (f roomFanout) TrackPublished(id room.ID, userID string, kind room.TrackKind) {
	for _, l := range f {
		l.TrackPublished(id, userID, kind)
	}
}

func (f roomFanout) TrackUnpublished(id room.ID, userID string, kind room.TrackKind) {
	for _, l := range f {
		l.TrackUnpublished(id, userID, kind)
	}
}

func (f roomFanout) TrackMuted(id room.ID, userID string, kind room.TrackKind, muted bool) {
	for _, l := range f {
		l.TrackMuted(id, userID, kind, muted)
	}
}

func (f roomFanout) RoomClosed(id room.ID) {
	for _, l := range f {
		l.RoomClosed(id)
	}
}

func (f roomFanout) VoiceVolumes(id room.ID, volumes map[string]int) {
	for _, l := range f {
		l.VoiceVolumes(id, volumes)
	}
}

func (f roomFanout) NetworkQuality(id room.ID, list []room.UserQuality) {
	for _, l := range f {
		l.NetworkQuality(id, list)
	}
}

func (f roomFanout) PublishLayersChanged(id room.ID, userID string, layers []room.PublishLayer) {
	for _, l := range f {
		l.PublishLayersChanged(id, userID, layers)
	}
}
