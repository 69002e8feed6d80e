package protocol

import "strconv"

// Resolution is a wanted video size, numbered as the native TUI enum (section 3.1 of the
// call spec). 0 means no preference.
type Resolution int

// Resolutions.
const (
	ResolutionUnset     Resolution = 0
	Resolution640x360   Resolution = 108
	Resolution640x480   Resolution = 62
	Resolution960x540   Resolution = 110
	Resolution960x720   Resolution = 64
	Resolution1280x720  Resolution = 112
	Resolution1920x1080 Resolution = 114
)

// Size returns the width and height of r (0, 0 for an unset or unknown value).
func (r Resolution) Size() (width, height int) {
	switch r {
	case Resolution640x360:
		return 640, 360
	case Resolution640x480:
		return 640, 480
	case Resolution960x540:
		return 960, 540
	case Resolution960x720:
		return 960, 720
	case Resolution1280x720:
		return 1280, 720
	case Resolution1920x1080:
		return 1920, 1080
	}
	return 0, 0
}

// Valid reports whether r is unset or one of the defined resolutions.
func (r Resolution) Valid() bool {
	w, _ := r.Size()
	return r == ResolutionUnset || w != 0
}

// JoinRoomParams are the params of "joinRoom" (a room without a call, D23).
type JoinRoomParams struct {
	RoomID RoomID `json:"roomId"`
	// RoomGrant is the room grant (a JWT signed with the app's secret, PROTOCOL.md §4.3)
	// that gives this user rights to this room.
	RoomGrant string `json:"roomGrant,omitempty"`
	// PrivateMapKey is an alias of RoomGrant under the name TRTC apps know; Grant picks
	// whichever is set.
	PrivateMapKey string `json:"privateMapKey,omitempty"`
}

// Grant is the room grant the client sent: roomGrant, or else privateMapKey ("" for none).
func (p JoinRoomParams) Grant() string {
	if p.RoomGrant != "" {
		return p.RoomGrant
	}
	return p.PrivateMapKey
}

// Validate checks the room id: required (-32602), in range and charset (4001); and the
// grant: at most MaxRoomGrantBytes, and roomGrant and privateMapKey not two different
// values (-32602).
func (p JoinRoomParams) Validate() error {
	if err := checkRoomID("roomId", p.RoomID); err != nil {
		return err
	}
	tooLong := "must be at most " + strconv.Itoa(MaxRoomGrantBytes) + " bytes"
	if len(p.RoomGrant) > MaxRoomGrantBytes {
		return InvalidParams("roomGrant", tooLong)
	}
	if len(p.PrivateMapKey) > MaxRoomGrantBytes {
		return InvalidParams("privateMapKey", tooLong)
	}
	if p.RoomGrant != "" && p.PrivateMapKey != "" && p.RoomGrant != p.PrivateMapKey {
		return InvalidParams("privateMapKey", "differs from roomGrant; send one of them")
	}
	return nil
}

// VideoQuality is the wanted quality of a remote video: a Resolution or an explicit
// width/height (both 0 = no preference). The server picks the closest simulcast layer.
type VideoQuality struct {
	Resolution Resolution `json:"resolution,omitempty"`
	Width      int        `json:"width,omitempty"`
	Height     int        `json:"height,omitempty"`
}

// Validate checks the resolution value and the dimensions.
func (q VideoQuality) Validate() error {
	if !q.Resolution.Valid() {
		return InvalidParams("resolution", "must be one of 108, 62, 110, 64, 112, 114")
	}
	if q.Width < 0 || q.Width > MaxVideoDimension {
		return InvalidParams("width", "must be 0.."+strconv.Itoa(MaxVideoDimension))
	}
	if q.Height < 0 || q.Height > MaxVideoDimension {
		return InvalidParams("height", "must be 0.."+strconv.Itoa(MaxVideoDimension))
	}
	return nil
}

// StartRemoteViewParams are the params of "startRemoteView": forward UserID's video (D24).
type StartRemoteViewParams struct {
	UserID string `json:"userId"`
	VideoQuality
}

// Validate checks the publisher and the wanted quality.
func (p StartRemoteViewParams) Validate() error {
	if err := checkUserID("userId", p.UserID); err != nil {
		return err
	}
	return p.VideoQuality.Validate()
}

// SetRemoteViewQualityParams are the params of "setRemoteViewQuality": change the wanted
// quality of a remote video that is being viewed.
type SetRemoteViewQualityParams struct {
	UserID string `json:"userId"`
	VideoQuality
}

// Validate checks the publisher and the wanted quality.
func (p SetRemoteViewQualityParams) Validate() error {
	if err := checkUserID("userId", p.UserID); err != nil {
		return err
	}
	return p.VideoQuality.Validate()
}

// StopRemoteViewParams are the params of "stopRemoteView".
type StopRemoteViewParams struct {
	UserID string `json:"userId"`
}

// Validate checks the publisher.
func (p StopRemoteViewParams) Validate() error {
	return checkUserID("userId", p.UserID)
}

// Target names one of a participant's two PeerConnections.
type Target string

// Targets.
const (
	// TargetPublisher is the PeerConnection the client sends on; the client offers.
	TargetPublisher Target = "publisher"
	// TargetSubscriber is the PeerConnection the client receives on; the server offers.
	TargetSubscriber Target = "subscriber"
)

// SessionDescription is an SDP offer or answer (RTCSessionDescriptionInit).
type SessionDescription struct {
	Type string `json:"type"` // "offer" or "answer"
	SDP  string `json:"sdp"`
}

func checkSDP(field, wantType string, d SessionDescription) error {
	if d.Type != wantType {
		return InvalidParams(field+".type", "must be \""+wantType+"\"")
	}
	if d.SDP == "" {
		return InvalidParams(field+".sdp", "required")
	}
	if len(d.SDP) > MaxSDPBytes {
		return InvalidParams(field+".sdp", "at most "+strconv.Itoa(MaxSDPBytes)+" bytes")
	}
	return nil
}

// OfferParams are the params of the client's "offer" request (Target publisher) and of the
// server's "offer" notification (Target subscriber).
type OfferParams struct {
	Target Target             `json:"target"`
	SDP    SessionDescription `json:"sdp"`
}

// Validate checks a client offer: target publisher, type offer, a non-empty SDP.
func (p OfferParams) Validate() error {
	if p.Target != TargetPublisher {
		return InvalidParams("target", "must be \"publisher\" (the server offers on the subscriber)")
	}
	return checkSDP("sdp", "offer", p.SDP)
}

// OfferResult is the server's answer to a client offer.
type OfferResult struct {
	SDP SessionDescription `json:"sdp"`
}

// AnswerParams are the params of the client's "answer" request (to the server's subscriber
// offer).
type AnswerParams struct {
	Target Target             `json:"target"`
	SDP    SessionDescription `json:"sdp"`
}

// Validate checks a client answer: target subscriber, type answer, a non-empty SDP.
func (p AnswerParams) Validate() error {
	if p.Target != TargetSubscriber {
		return InvalidParams("target", "must be \"subscriber\" (the client offers on the publisher)")
	}
	return checkSDP("sdp", "answer", p.SDP)
}

// ICECandidate is an RTCIceCandidateInit. An empty Candidate is the end-of-candidates mark.
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// TrickleParams are the params of "trickle" in both directions.
type TrickleParams struct {
	Target    Target       `json:"target"`
	Candidate ICECandidate `json:"candidate"`
}

// Validate checks the target and the candidate's size.
func (p TrickleParams) Validate() error {
	if p.Target != TargetPublisher && p.Target != TargetSubscriber {
		return InvalidParams("target", "must be \"publisher\" or \"subscriber\"")
	}
	if len(p.Candidate.Candidate) > MaxCandidateBytes {
		return InvalidParams("candidate.candidate", "at most "+strconv.Itoa(MaxCandidateBytes)+" bytes")
	}
	return nil
}
