package protocol

// LoginParams are the params of "login". ResumeToken, when set, asks to re-attach a
// session whose connection dropped less than signaling.reconnect_grace ago (its call and
// room survive); the userSig is still verified. LastSeq, with a resume, is the highest
// notification seq the client received on the dropped socket (0: none): the server
// replays the later notifications it kept. Without LastSeq it replays only what it could
// not hand to the old socket.
type LoginParams struct {
	SDKAppID    int     `json:"sdkAppId"`
	UserID      string  `json:"userId"`
	UserSig     string  `json:"userSig"`
	ResumeToken string  `json:"resumeToken,omitempty"`
	LastSeq     *uint64 `json:"lastSeq,omitempty"`
}

// Validate checks presence and shape; the signature is checked by the server.
func (p LoginParams) Validate() error {
	if p.SDKAppID <= 0 {
		return InvalidParams("sdkAppId", "required (a positive integer)")
	}
	if err := checkUserID("userId", p.UserID); err != nil {
		return err
	}
	if p.UserSig == "" {
		return InvalidParams("userSig", "required")
	}
	return nil
}

// ICEServer is one STUN/TURN server for the client's RTCPeerConnection configuration.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// LoginResult is the result of "login".
type LoginResult struct {
	UserID string `json:"userId"`
	// ResumeToken re-attaches this session after a dropped connection (LoginParams.ResumeToken).
	ResumeToken string      `json:"resumeToken"`
	ICEServers  []ICEServer `json:"iceServers"`
	// ExpiresAt is the userSig's exp in unix seconds: onUserSigExpired follows at that time.
	ExpiresAt int64 `json:"expiresAt"`
}

// SetSelfInfoParams are the params of "setSelfInfo" (D5).
type SetSelfInfoParams struct {
	Nickname string `json:"nickname"`
	Avatar   string `json:"avatar"`
}

// Validate applies D5: nickname ≤ 500 bytes of UTF-8 (2001), avatar empty or http(s) URL (2002).
func (p SetSelfInfoParams) Validate() error {
	if !ValidNickname(p.Nickname) {
		return FieldError(CodeNicknameTooLong, "nickname", "must be valid UTF-8 of at most 500 bytes")
	}
	if !ValidAvatar(p.Avatar) {
		return FieldError(CodeAvatarNotURL, "avatar", "must be empty or an absolute http(s) URL")
	}
	return nil
}

// EnableMultiDeviceAbilityParams are the params of "enableMultiDeviceAbility" (D4).
type EnableMultiDeviceAbilityParams struct {
	Enable bool `json:"enable"`
}

// Empty is the params of methods without params (logout, leaveRoom,
// openCamera, …) and the result of methods without a result.
type Empty struct{}
