package webhooks

import (
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// Event types (the "event" field and the X-Parley-Event header).
const (
	EventCallBegan      = "call_began"
	EventCallEnded      = "call_ended"
	EventInviteeOffline = "invitee_offline"
	EventRoomStarted    = "room_started"
	EventRoomFinished   = "room_finished"
)

// Envelope is the JSON body of every request. Seq counts the events of this server
// process from 1 (receivers can spot gaps: dropped or given-up events).
type Envelope struct {
	ID        string `json:"id"`
	Seq       uint64 `json:"seq"`
	Event     string `json:"event"`
	CreatedAt int64  `json:"createdAt"` // unix milliseconds
	Data      any    `json:"data"`
}

// CallData describes a call in call_began and call_ended. Times are unix seconds;
// BeganAt is 0 for a call nobody accepted. Result and TotalTime (seconds active) are set
// in call_ended.
type CallData struct {
	CallID    string             `json:"callId"`
	RoomID    protocol.RoomID    `json:"roomId"`
	Scene     protocol.Scene     `json:"scene"`
	MediaType protocol.MediaType `json:"mediaType"`
	GroupID   string             `json:"groupId,omitempty"`
	Caller    string             `json:"caller"`
	Invitees  []string           `json:"invitees"`
	CreatedAt int64              `json:"createdAt"`
	BeganAt   int64              `json:"beganAt"`
	EndedAt   int64              `json:"endedAt,omitempty"`
	Result    string             `json:"result,omitempty"` // answered, cancelled, unanswered
	TotalTime int64              `json:"totalTime"`
}

// InviteeOfflineData is an invitation to a user with no session (D9).
type InviteeOfflineData struct {
	CallID     string                     `json:"callId"`
	Invitee    string                     `json:"invitee"`
	Invitation protocol.CallReceivedEvent `json:"invitation"`
}

// RoomData names the room of room_started and room_finished.
type RoomData struct {
	RoomID protocol.RoomID `json:"roomId"`
}

func callData(c call.CallSummary) CallData {
	d := CallData{
		CallID: c.CallID, RoomID: c.RoomID, Scene: c.Scene, MediaType: c.MediaType, GroupID: c.GroupID,
		Caller: c.Caller, Invitees: append([]string{}, c.Invitees...), Result: string(c.Outcome),
	}
	if !c.CreatedAt.IsZero() {
		d.CreatedAt = c.CreatedAt.Unix()
	}
	if !c.BeganAt.IsZero() {
		d.BeganAt = c.BeganAt.Unix()
	}
	if !c.EndedAt.IsZero() {
		d.EndedAt = c.EndedAt.Unix()
		if !c.BeganAt.IsZero() && c.EndedAt.After(c.BeganAt) {
			d.TotalTime = int64(c.EndedAt.Sub(c.BeganAt).Seconds())
		}
	}
	return d
}
