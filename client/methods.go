package client

import (
	"context"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// This file has one typed method per protocol method (signaling/PROTOCOL.md §4). Each is
// a Request with the method's params and result; errors are *protocol.Error values
// wrapped with the method name.

// ---- session ----

// Login logs in with a userSig (JWT). On success the result is kept (LoginResult) for
// StartMedia (user id, ICE servers) and Resume; the server then sends onSdkReady.
func (c *Conn) Login(ctx context.Context, sdkAppID int, userID, userSig string) (protocol.LoginResult, error) {
	return c.LoginWith(ctx, protocol.LoginParams{SDKAppID: sdkAppID, UserID: userID, UserSig: userSig})
}

// Resume logs in with the resume token of an earlier login on another (dropped) socket,
// re-attaching that session with its call and room. lastSeq is the old connection's
// LastSeq: the server replays the notifications after it.
func (c *Conn) Resume(ctx context.Context, sdkAppID int, userID, userSig, resumeToken string, lastSeq uint64) (protocol.LoginResult, error) {
	return c.LoginWith(ctx, protocol.LoginParams{SDKAppID: sdkAppID, UserID: userID, UserSig: userSig, ResumeToken: resumeToken, LastSeq: &lastSeq})
}

// LoginWith sends login with explicit params.
func (c *Conn) LoginWith(ctx context.Context, p protocol.LoginParams) (protocol.LoginResult, error) {
	var res protocol.LoginResult
	if err := c.Request(ctx, protocol.MethodLogin, p, &res); err != nil {
		return protocol.LoginResult{}, err
	}
	c.stateMu.Lock()
	c.login, c.loggedIn = res, true
	c.stateMu.Unlock()
	return res, nil
}

// LoginResult is the result of the last successful login, and whether there was one
// since the last Logout.
func (c *Conn) LoginResult() (protocol.LoginResult, bool) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	return c.login, c.loggedIn
}

// UserID is the logged-in user ("" before login).
func (c *Conn) UserID() string {
	res, _ := c.LoginResult()
	return res.UserID
}

// Logout ends the session (a call is hung up, the room left); the socket stays open.
func (c *Conn) Logout(ctx context.Context) error {
	if err := c.Request(ctx, protocol.MethodLogout, nil, nil); err != nil {
		return err
	}
	c.stateMu.Lock()
	c.login, c.loggedIn = protocol.LoginResult{}, false
	c.stateMu.Unlock()
	return nil
}

// SetSelfInfo sets the nickname and avatar later invitations carry.
func (c *Conn) SetSelfInfo(ctx context.Context, nickname, avatar string) error {
	return c.Request(ctx, protocol.MethodSetSelfInfo, protocol.SetSelfInfoParams{Nickname: nickname, Avatar: avatar}, nil)
}

// EnableMultiDeviceAbility turns the user's multi-device mode on or off. Off kicks the
// user's other sessions; this one stays (PROTOCOL.md §4.1).
func (c *Conn) EnableMultiDeviceAbility(ctx context.Context, enable bool) error {
	return c.Request(ctx, protocol.MethodEnableMultiDeviceAbility, protocol.EnableMultiDeviceAbilityParams{Enable: enable}, nil)
}

// ---- calls ----

// Call starts a 1v1 call to userID.
func (c *Conn) Call(ctx context.Context, userID string, mediaType protocol.MediaType, params protocol.CallParams) (protocol.CallStartResult, error) {
	var res protocol.CallStartResult
	err := c.Request(ctx, protocol.MethodCall, protocol.CallMethodParams{UserID: userID, MediaType: mediaType, Params: params}, &res)
	return res, err
}

// GroupCall starts a group call of groupID inviting userIDs.
func (c *Conn) GroupCall(ctx context.Context, groupID string, userIDs []string, mediaType protocol.MediaType, params protocol.CallParams) (protocol.CallStartResult, error) {
	var res protocol.CallStartResult
	err := c.Request(ctx, protocol.MethodGroupCall, protocol.GroupCallParams{GroupID: groupID, UserIDList: userIDs, MediaType: mediaType, Params: params}, &res)
	return res, err
}

// Calls is the unified entry: one invitee without params.ChatGroupID is a 1v1 call,
// anything else a group call.
func (c *Conn) Calls(ctx context.Context, userIDs []string, mediaType protocol.MediaType, params protocol.CallParams) (protocol.CallStartResult, error) {
	var res protocol.CallStartResult
	err := c.Request(ctx, protocol.MethodCalls, protocol.CallsParams{UserIDList: userIDs, MediaType: mediaType, Params: params}, &res)
	return res, err
}

// Accept answers the ringing invitation; mediaType protocol.MediaTypeAudio answers a 1v1
// video call with voice, 0 keeps the call's media type.
func (c *Conn) Accept(ctx context.Context, mediaType protocol.MediaType) error {
	return c.Request(ctx, protocol.MethodAccept, protocol.AcceptParams{MediaType: mediaType}, nil)
}

// Reject refuses the ringing invitation.
func (c *Conn) Reject(ctx context.Context) error {
	return c.Request(ctx, protocol.MethodReject, nil, nil)
}

// Ignore ignores the ringing invitation (the inviter sees the line busy).
func (c *Conn) Ignore(ctx context.Context) error {
	return c.Request(ctx, protocol.MethodIgnore, nil, nil)
}

// Hangup cancels the call before anyone accepted, or leaves it.
func (c *Conn) Hangup(ctx context.Context) error {
	return c.Request(ctx, protocol.MethodHangup, nil, nil)
}

// InviteUser invites more users into the current call.
func (c *Conn) InviteUser(ctx context.Context, userIDs []string, params protocol.CallParams) (protocol.InviteUserResult, error) {
	var res protocol.InviteUserResult
	err := c.Request(ctx, protocol.MethodInviteUser, protocol.InviteUserParams{UserIDList: userIDs, Params: params}, &res)
	return res, err
}

// JoinInGroupCall enters the active group call of groupID in roomID without invitation.
func (c *Conn) JoinInGroupCall(ctx context.Context, roomID protocol.RoomID, groupID string, mediaType protocol.MediaType) (protocol.CallStartResult, error) {
	var res protocol.CallStartResult
	err := c.Request(ctx, protocol.MethodJoinInGroupCall, protocol.JoinInGroupCallParams{RoomID: roomID, GroupID: groupID, MediaType: mediaType}, &res)
	return res, err
}

// Join enters an active group call by its id.
func (c *Conn) Join(ctx context.Context, callID string) (protocol.CallStartResult, error) {
	var res protocol.CallStartResult
	err := c.Request(ctx, protocol.MethodJoin, protocol.JoinParams{CallID: callID}, &res)
	return res, err
}

// PrepareCall enters the room of a call that rings (the invitee, on onCallReceived) or
// that this user dials (the caller, after Call), so that StartMedia can connect the
// PeerConnections before the answer: nothing is sent or received, and nobody is told,
// until the call begins for this user. The room is left when the call ends without it.
// Errors: 3004 when the user is not dialing or ringing in that call.
func (c *Conn) PrepareCall(ctx context.Context, callID string) (protocol.CallStartResult, error) {
	var res protocol.CallStartResult
	err := c.Request(ctx, protocol.MethodPrepareCall, protocol.PrepareCallParams{CallID: callID}, &res)
	return res, err
}

// SwitchCallMediaType switches the 1v1 call to mediaType.
func (c *Conn) SwitchCallMediaType(ctx context.Context, mediaType protocol.MediaType) error {
	return c.Request(ctx, protocol.MethodSwitchCallMediaType, protocol.SwitchCallMediaTypeParams{MediaType: mediaType}, nil)
}

// QueryRecentCalls returns the user's call records, newest first.
func (c *Conn) QueryRecentCalls(ctx context.Context, p protocol.QueryRecentCallsParams) (protocol.QueryRecentCallsResult, error) {
	var res protocol.QueryRecentCallsResult
	err := c.Request(ctx, protocol.MethodQueryRecentCalls, p, &res)
	return res, err
}

// DeleteRecordCalls deletes the user's records of callIDs.
func (c *Conn) DeleteRecordCalls(ctx context.Context, callIDs []string) (protocol.DeleteRecordCallsResult, error) {
	var res protocol.DeleteRecordCallsResult
	err := c.Request(ctx, protocol.MethodDeleteRecordCalls, protocol.DeleteRecordCallsParams{CallIDList: callIDs}, &res)
	return res, err
}

// ---- rooms and media ----

// JoinRoom joins a room without a call and without a room grant, which only an app with
// auth.apps[].open_rooms allows (else 4006); then call StartMedia. See JoinRoomWithGrant.
func (c *Conn) JoinRoom(ctx context.Context, roomID protocol.RoomID) error {
	return c.JoinRoomWithGrant(ctx, roomID, "")
}

// JoinRoomWithGrant joins a room without a call, presenting grant: a room grant for this
// user and room made by the app's server with the app's secret (PROTOCOL.md §4.3; TRTC
// calls it privateMapKey). Its rights decide whether the user's media is forwarded
// (publish) and whether the user receives the room's media (subscribe). Errors: 4006 no
// grant on an app without open_rooms, 4007 a grant for another app, user or room (or
// malformed), 4008 an expired one. Then call StartMedia.
func (c *Conn) JoinRoomWithGrant(ctx context.Context, roomID protocol.RoomID, grant string) error {
	c.views.reset()
	return c.Request(ctx, protocol.MethodJoinRoom, protocol.JoinRoomParams{RoomID: roomID, RoomGrant: grant}, nil)
}

// LeaveRoom leaves the room (a hangup when it is the user's call room).
func (c *Conn) LeaveRoom(ctx context.Context) error {
	c.views.reset()
	return c.Request(ctx, protocol.MethodLeaveRoom, nil, nil)
}

// StartRemoteView starts receiving userID's video at the wanted quality (zero = any). In
// a call switched to audio the view is only recorded: it starts when the call switches
// back to video (mediaswitch.go, D241).
func (c *Conn) StartRemoteView(ctx context.Context, userID string, quality protocol.VideoQuality) error {
	if c.views.held() {
		c.views.set(userID, quality)
		return nil
	}
	err := c.Request(ctx, protocol.MethodStartRemoteView, protocol.StartRemoteViewParams{UserID: userID, VideoQuality: quality}, nil)
	if err == nil {
		c.views.set(userID, quality)
	}
	return err
}

// StopRemoteView stops receiving userID's video (in a call switched to audio it is
// stopped already: nothing is sent).
func (c *Conn) StopRemoteView(ctx context.Context, userID string) error {
	c.views.forget(userID)
	if c.views.held() {
		return nil
	}
	return c.Request(ctx, protocol.MethodStopRemoteView, protocol.StopRemoteViewParams{UserID: userID}, nil)
}

// SetRemoteViewQuality changes the wanted quality of userID's video.
func (c *Conn) SetRemoteViewQuality(ctx context.Context, userID string, quality protocol.VideoQuality) error {
	c.views.update(userID, quality)
	if c.views.held() {
		return nil
	}
	return c.Request(ctx, protocol.MethodSetRemoteViewQuality, protocol.SetRemoteViewQualityParams{UserID: userID, VideoQuality: quality}, nil)
}

// OpenCamera turns the camera on: the Publisher sends video again (from a keyframe) and
// the server is told, so the others get onUserVideoAvailable(true).
func (c *Conn) OpenCamera(ctx context.Context) error {
	c.media.setVideoSending(true)
	return c.Request(ctx, protocol.MethodOpenCamera, nil, nil)
}

// CloseCamera turns the camera off: the Publisher stops sending video (its track and
// PeerConnection stay) and the server is told, so the others get
// onUserVideoAvailable(false).
func (c *Conn) CloseCamera(ctx context.Context) error {
	c.media.setVideoSending(false)
	return c.Request(ctx, protocol.MethodCloseCamera, nil, nil)
}

// OpenMicrophone declares the microphone on.
func (c *Conn) OpenMicrophone(ctx context.Context) error {
	return c.Request(ctx, protocol.MethodOpenMicrophone, nil, nil)
}

// CloseMicrophone declares the microphone off.
func (c *Conn) CloseMicrophone(ctx context.Context) error {
	return c.Request(ctx, protocol.MethodCloseMicrophone, nil, nil)
}
