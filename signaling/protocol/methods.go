package protocol

// Method names of client→server requests. The same names "offer" and "trickle" are also
// used by the server for its notifications on the subscriber PeerConnection.
const (
	// Session.
	MethodLogin                    = "login"
	MethodLogout                   = "logout"
	MethodSetSelfInfo              = "setSelfInfo"
	MethodEnableMultiDeviceAbility = "enableMultiDeviceAbility"

	// Calls.
	MethodCall                = "call"
	MethodGroupCall           = "groupCall"
	MethodCalls               = "calls"
	MethodAccept              = "accept"
	MethodReject              = "reject"
	MethodIgnore              = "ignore"
	MethodHangup              = "hangup"
	MethodInviteUser          = "inviteUser"
	MethodJoinInGroupCall     = "joinInGroupCall"
	MethodJoin                = "join"
	MethodPrepareCall         = "prepareCall"
	MethodSwitchCallMediaType = "switchCallMediaType"
	MethodQueryRecentCalls    = "queryRecentCalls"
	MethodDeleteRecordCalls   = "deleteRecordCalls"

	// Rooms and media.
	MethodJoinRoom             = "joinRoom"
	MethodLeaveRoom            = "leaveRoom"
	MethodStartRemoteView      = "startRemoteView"
	MethodStopRemoteView       = "stopRemoteView"
	MethodSetRemoteViewQuality = "setRemoteViewQuality"
	MethodOpenCamera           = "openCamera"
	MethodCloseCamera          = "closeCamera"
	MethodOpenMicrophone       = "openMicrophone"
	MethodCloseMicrophone      = "closeMicrophone"

	// WebRTC negotiation (requests from the client, notifications from the server).
	MethodOffer   = "offer"
	MethodAnswer  = "answer"
	MethodTrickle = "trickle"
)

// Methods lists every client→server method name.
func Methods() []string {
	return []string{
		MethodLogin, MethodLogout, MethodSetSelfInfo, MethodEnableMultiDeviceAbility,
		MethodCall, MethodGroupCall, MethodCalls, MethodAccept, MethodReject, MethodIgnore,
		MethodHangup, MethodInviteUser, MethodJoinInGroupCall, MethodJoin, MethodPrepareCall,
		MethodSwitchCallMediaType, MethodQueryRecentCalls, MethodDeleteRecordCalls,
		MethodJoinRoom, MethodLeaveRoom, MethodStartRemoteView, MethodStopRemoteView,
		MethodSetRemoteViewQuality, MethodOpenCamera, MethodCloseCamera, MethodOpenMicrophone,
		MethodCloseMicrophone, MethodOffer, MethodAnswer, MethodTrickle,
	}
}
