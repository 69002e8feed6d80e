package protocol

// Session and media event names (server→client notifications). The call events
// (onCallReceived, onCallBegin, …) are in call_events.go.
const (
	EventSdkReady                  = "onSdkReady"
	EventError                     = "onError"
	EventKickedOffline             = "onKickedOffline"
	EventUserSigExpired            = "onUserSigExpired"
	EventUserJoin                  = "onUserJoin"
	EventUserLeave                 = "onUserLeave"
	EventUserVideoAvailable        = "onUserVideoAvailable"
	EventUserAudioAvailable        = "onUserAudioAvailable"
	EventUserVoiceVolumeChanged    = "onUserVoiceVolumeChanged"
	EventUserNetworkQualityChanged = "onUserNetworkQualityChanged"
	EventServerDraining            = "onServerDraining"
	// EventPublishLayersChanged tells a simulcast publisher which of its layers some
	// subscriber needs (PublishLayersChangedEvent); it goes to the publisher alone.
	EventPublishLayersChanged = "onPublishLayersChanged"
)

// SdkReadyEvent follows a successful login (D3).
type SdkReadyEvent struct {
	UserID string `json:"userId"`
}

// ErrorEvent reports an error that is not the answer to a request.
type ErrorEvent struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// KickedOfflineEvent: a newer login of the same user replaced this session (D4); the
// connection closes right after.
type KickedOfflineEvent struct{}

// UserSigExpiredEvent: the userSig expired; login again on this connection within
// GraceSeconds or the session ends (D2).
type UserSigExpiredEvent struct {
	GraceSeconds int `json:"graceSeconds"`
}

// UserJoinEvent: a user's media session in the room is up (D15).
type UserJoinEvent struct {
	UserID string `json:"userId"`
	RoomID RoomID `json:"roomId"`
}

// UserLeaveEvent: a user left the room (D15).
type UserLeaveEvent struct {
	UserID string `json:"userId"`
	RoomID RoomID `json:"roomId"`
}

// UserVideoAvailableEvent: a user's camera track went on or off (D19).
type UserVideoAvailableEvent struct {
	UserID           string `json:"userId"`
	IsVideoAvailable bool   `json:"isVideoAvailable"`
}

// UserAudioAvailableEvent: a user's microphone track went on or off (D19).
type UserAudioAvailableEvent struct {
	UserID           string `json:"userId"`
	IsAudioAvailable bool   `json:"isAudioAvailable"`
}

// UserVoiceVolumeChangedEvent maps userId → volume 0..100 for every audio publisher in the
// room, self included (D20).
type UserVoiceVolumeChangedEvent struct {
	VolumeMap map[string]int `json:"volumeMap"`
}

// NetworkQuality is 0 (unknown) .. 6 (down), numbered as the native enum.
type NetworkQuality int

// Network qualities.
const (
	NetworkQualityUnknown   NetworkQuality = 0
	NetworkQualityExcellent NetworkQuality = 1
	NetworkQualityGood      NetworkQuality = 2
	NetworkQualityPoor      NetworkQuality = 3
	NetworkQualityBad       NetworkQuality = 4
	NetworkQualityVeryBad   NetworkQuality = 5
	NetworkQualityDown      NetworkQuality = 6
)

// NetworkQualityInfo is one user's quality.
type NetworkQualityInfo struct {
	UserID  string         `json:"userId"`
	Quality NetworkQuality `json:"quality"`
}

// UserNetworkQualityChangedEvent lists the quality of every user in the room, self
// included (D21).
type UserNetworkQualityChangedEvent struct {
	NetworkQualityList []NetworkQualityInfo `json:"networkQualityList"`
}

// ServerDrainingEvent: the server is shutting down; current calls continue, new calls and
// rooms fail with 5001; reconnect to another node when convenient.
type ServerDrainingEvent struct{}
