package webhooks

import (
	"encoding/json"

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
	// EventRecordingFinished carries a stopped recording's manifest (ops/recording.Info).
	EventRecordingFinished = "recording_finished"
)

// Envelope is the JSON body of every request. Seq counts the events of this server
// process from 1 (receivers can spot gaps: dropped or given-up events). SDKAppID is the
// app (tenant) the event belongs to: its calls, users and rooms (D26).
type Envelope struct {
	ID        string `json:"id"`
	Seq       uint64 `json:"seq"`
	Event     string `json:"event"`
	SDKAppID  int    `json:"sdkAppId"`
	CreatedAt int64  `json:"createdAt"` // unix milliseconds
	Data      any    `json:"data"`
}

// CallData describes a call in call_began and call_ended (spec D22). Times are unix
// seconds. BeginTime is when the call began (the first accept), or when it was made for
// a call nobody accepted, as in the caller's record; BeganAt is 0 for a call nobody
// accepted. Result (answered, cancelled, unanswered), EndedAt, TotalTime (seconds
// active) and Records (one per user: role, result missed/incoming/outgoing, beginTime
// and totalTime of that user, exactly as queryRecentCalls and the calls API return
// them) are set in call_ended.
type CallData struct {
	CallID    string                `json:"callId"`
	RoomID    protocol.RoomID       `json:"roomId"`
	Scene     protocol.Scene        `json:"scene"`
	MediaType protocol.MediaType    `json:"mediaType"`
	GroupID   string                `json:"groupId"`
	Caller    string                `json:"caller"`
	Invitees  []string              `json:"invitees"`
	CreatedAt int64                 `json:"createdAt"`
	BeginTime int64                 `json:"beginTime"`
	BeganAt   int64                 `json:"beganAt"`
	EndedAt   int64                 `json:"endedAt,omitempty"`
	Result    string                `json:"result,omitempty"`
	TotalTime int64                 `json:"totalTime"`
	Records   []protocol.CallRecord `json:"records,omitempty"`
}

// InviteeOfflineData is an invitation to a user with no session (spec D9), for an app
// server to send a push: the call, the caller's profile, the media type, the caller's
// offlinePushInfo and userData at the top level, and the whole invitation the invitee
// gets on login.
type InviteeOfflineData struct {
	CallID          string             `json:"callId"`
	Invitee         string             `json:"invitee"`
	CallerID        string             `json:"callerId"`
	CallerNickname  string             `json:"callerNickname"`
	CallerAvatar    string             `json:"callerAvatar"`
	MediaType       protocol.MediaType `json:"mediaType"`
	Scene           protocol.Scene     `json:"scene"`
	GroupID         string             `json:"groupId"`
	RoomID          protocol.RoomID    `json:"roomId"`
	UserData        string             `json:"userData"`
	OfflinePushInfo json.RawMessage    `json:"offlinePushInfo,omitempty"`
	// Timeout is how many seconds the invitation still rings.
	Timeout    int                        `json:"timeout"`
	Invitation protocol.CallReceivedEvent `json:"invitation"`
}

func inviteeOfflineData(invitee string, inv protocol.CallReceivedEvent) InviteeOfflineData {
	return InviteeOfflineData{
		CallID: inv.CallID, Invitee: invitee, CallerID: inv.CallerID, CallerNickname: inv.CallerNickname,
		CallerAvatar: inv.CallerAvatar, MediaType: inv.MediaType, Scene: inv.Scene, GroupID: inv.GroupID,
		RoomID: inv.RoomID, UserData: inv.UserData, OfflinePushInfo: inv.OfflinePushInfo, Timeout: inv.Timeout,
		Invitation: inv,
	}
}

// RoomData names the room of room_started and room_finished.
type RoomData struct {
	RoomID protocol.RoomID `json:"roomId"`
}

func callData(c call.CallSummary) CallData {
	d := CallData{
		CallID: c.CallID, RoomID: c.RoomID, Scene: c.Scene, MediaType: c.MediaType, GroupID: c.GroupID,
		Caller: c.Caller, Invitees: append([]string{}, c.Invitees...), Result: string(c.Outcome),
		Records: c.Records,
	}
	if !c.CreatedAt.IsZero() {
		d.CreatedAt = c.CreatedAt.Unix()
		d.BeginTime = d.CreatedAt
	}
	if !c.BeganAt.IsZero() {
		d.BeganAt = c.BeganAt.Unix()
		d.BeginTime = d.BeganAt
	}
	if !c.EndedAt.IsZero() {
		d.EndedAt = c.EndedAt.Unix()
		if !c.BeganAt.IsZero() && c.EndedAt.After(c.BeganAt) {
			d.TotalTime = int64(c.EndedAt.Sub(c.BeganAt).Seconds())
		}
	}
	return d
}
