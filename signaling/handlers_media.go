package signaling

import (
	"context"
	"errors"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/protocol"
)

func registerMediaMethods(d *Dispatcher[*session]) {
	reg(d, protocol.MethodJoinRoom, (*session).joinRoom)
	reg(d, protocol.MethodLeaveRoom, (*session).leaveRoom)
	reg(d, protocol.MethodStartRemoteView, (*session).startRemoteView)
	reg(d, protocol.MethodStopRemoteView, (*session).stopRemoteView)
	reg(d, protocol.MethodSetRemoteViewQuality, (*session).setRemoteViewQuality)
	Register(d, protocol.MethodOpenCamera, muteHandler(room.KindVideo, false))
	Register(d, protocol.MethodCloseCamera, muteHandler(room.KindVideo, true))
	Register(d, protocol.MethodOpenMicrophone, muteHandler(room.KindAudio, false))
	Register(d, protocol.MethodCloseMicrophone, muteHandler(room.KindAudio, true))
	reg(d, protocol.MethodOffer, (*session).offer)
	reg(d, protocol.MethodAnswer, (*session).answer)
	reg(d, protocol.MethodTrickle, (*session).trickle)
}

// joinRoom enters a room without a call (D23), with the rights the room allows (D27,
// rights.go).
func (sess *session) joinRoom(ctx context.Context, p protocol.JoinRoomParams) (protocol.Empty, error) {
	if sess.svc.Draining() {
		return protocol.Empty{}, protocol.NewError(protocol.CodeServerDraining, "the server is shutting down")
	}
	if err := sess.checkRate(limitRoomJoins); err != nil {
		return protocol.Empty{}, err
	}
	app, _ := sess.identity()
	id, err := roomIDFromWire(p.RoomID)
	if err != nil {
		return protocol.Empty{}, protocol.FieldError(protocol.CodeInvalidRoomID, "roomId", err.Error())
	}
	id = id.InApp(app)
	if _, _, err := sess.currentParticipant(); err == nil {
		return protocol.Empty{}, protocol.NewError(protocol.CodeAlreadyInRoom, "already in a room: leave it first")
	}
	rights, err := sess.roomRights(p)
	if err != nil {
		return protocol.Empty{}, err
	}
	// The room may still hold the user's session that a login just kicked (D275).
	if err := sess.svc.awaitExits(ctx, app, sess.UserID()); err != nil {
		return protocol.Empty{}, err
	}
	if err := sess.enterRoomWith(id, room.JoinOptions{Rights: rights, MaxAppRooms: sess.svc.maxRooms(app)}); err != nil {
		if errors.Is(err, room.ErrAlreadyInRoom) {
			return protocol.Empty{}, protocol.NewError(protocol.CodeAlreadyInRoom, "this user is already in that room on another session")
		}
		return protocol.Empty{}, roomJoinError(err)
	}
	return protocol.Empty{}, nil
}

// leaveRoom leaves the session's room; when that room is the user's call, it is a hangup.
func (sess *session) leaveRoom(_ context.Context, _ protocol.Empty) (protocol.Empty, error) {
	_, id, err := sess.currentParticipant()
	if err != nil {
		return protocol.Empty{}, err
	}
	s := sess.svc
	s.mu.Lock()
	if u := s.userLocked(sess); u != nil {
		s.expireDueLocked(u.tenant) // D215
		if u.tenant.inCallRoomLocked(u.id, roomIDToWire(id)) {
			if out, err := u.tenant.machine.Hangup(s.now(), u.id); err == nil {
				s.executeLocked(u.tenant, out, sess)
			}
		}
	}
	s.mu.Unlock()
	sess.settle() // a hangup's events first
	sess.exitRoom()
	return protocol.Empty{}, nil
}

// startRemoteView subscribes to a user's video (D24); the wish is kept until that user
// publishes. Without a quality it keeps the one an earlier setRemoteViewQuality set (an
// SDK may start the view when the video appears, after the application chose a size).
func (sess *session) startRemoteView(_ context.Context, p protocol.StartRemoteViewParams) (protocol.Empty, error) {
	if err := sess.checkRate(limitNegotiations); err != nil {
		return protocol.Empty{}, err
	}
	part, _, err := sess.currentParticipant()
	if err != nil {
		return protocol.Empty{}, err
	}
	if p.UserID == sess.UserID() {
		return protocol.Empty{}, protocol.InvalidParams("userId", "is yourself: render your own camera locally")
	}
	if width, height := wantedSize(p.VideoQuality); width > 0 || height > 0 {
		if err := part.SetRemoteViewQuality(p.UserID, width, height); err != nil {
			return protocol.Empty{}, remoteViewError(err)
		}
	}
	return protocol.Empty{}, remoteViewError(part.StartRemoteView(p.UserID))
}

func (sess *session) stopRemoteView(_ context.Context, p protocol.StopRemoteViewParams) (protocol.Empty, error) {
	if err := sess.checkRate(limitNegotiations); err != nil {
		return protocol.Empty{}, err
	}
	part, _, err := sess.currentParticipant()
	if err != nil {
		return protocol.Empty{}, err
	}
	return protocol.Empty{}, part.StopRemoteView(p.UserID)
}

// setRemoteViewQuality changes the wanted size of a remote video: a simulcast track
// switches to the smallest layer that covers it (at that layer's next keyframe).
func (sess *session) setRemoteViewQuality(_ context.Context, p protocol.SetRemoteViewQualityParams) (protocol.Empty, error) {
	part, _, err := sess.currentParticipant()
	if err != nil {
		return protocol.Empty{}, err
	}
	if p.UserID == sess.UserID() {
		return protocol.Empty{}, protocol.InvalidParams("userId", "is yourself: render your own camera locally")
	}
	width, height := wantedSize(p.VideoQuality)
	return protocol.Empty{}, remoteViewError(part.SetRemoteViewQuality(p.UserID, width, height))
}

// wantedSize is the picture size a VideoQuality asks for: explicit width/height when
// given, else the Resolution's size; 0, 0 for no preference.
func wantedSize(q protocol.VideoQuality) (width, height int) {
	if q.Width > 0 || q.Height > 0 {
		return q.Width, q.Height
	}
	return q.Resolution.Size()
}

// muteHandler reports the user's camera or microphone state (D19).
func muteHandler(kind room.TrackKind, muted bool) HandlerFunc[*session, protocol.Empty, protocol.Empty] {
	return func(_ context.Context, sess *session, _ protocol.Empty) (protocol.Empty, error) {
		if err := sess.checkRate(limitDeviceToggles); err != nil {
			return protocol.Empty{}, err
		}
		part, _, err := sess.currentParticipant()
		if err != nil {
			return protocol.Empty{}, err
		}
		part.SetMuted(kind, muted)
		return protocol.Empty{}, nil
	}
}

// offer negotiates the publisher PeerConnection (the client offers).
func (sess *session) offer(_ context.Context, p protocol.OfferParams) (protocol.OfferResult, error) {
	if err := sess.checkRate(limitNegotiations); err != nil {
		return protocol.OfferResult{}, err
	}
	part, _, err := sess.currentParticipant()
	if err != nil {
		return protocol.OfferResult{}, err
	}
	answer, err := part.HandlePublisherOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: p.SDP.SDP})
	if err != nil {
		return protocol.OfferResult{}, mediaError(err, "sdp")
	}
	return protocol.OfferResult{SDP: protocol.SessionDescription{Type: answer.Type.String(), SDP: answer.SDP}}, nil
}

// answer completes a subscriber negotiation (the server offered).
func (sess *session) answer(_ context.Context, p protocol.AnswerParams) (protocol.Empty, error) {
	part, _, err := sess.currentParticipant()
	if err != nil {
		return protocol.Empty{}, err
	}
	if err := part.HandleSubscriberAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: p.SDP.SDP}); err != nil {
		return protocol.Empty{}, mediaError(err, "sdp")
	}
	return protocol.Empty{}, nil
}

// trickle adds a client ICE candidate to one of its PeerConnections.
func (sess *session) trickle(_ context.Context, p protocol.TrickleParams) (protocol.Empty, error) {
	if err := sess.checkRate(limitTrickles); err != nil {
		return protocol.Empty{}, err
	}
	part, _, err := sess.currentParticipant()
	if err != nil {
		return protocol.Empty{}, err
	}
	target, err := room.ParseTarget(string(p.Target))
	if err != nil {
		return protocol.Empty{}, protocol.InvalidParams("target", err.Error())
	}
	c := webrtc.ICECandidateInit{Candidate: p.Candidate.Candidate, SDPMid: p.Candidate.SDPMid,
		SDPMLineIndex: p.Candidate.SDPMLineIndex, UsernameFragment: p.Candidate.UsernameFragment}
	if err := part.AddICECandidate(target, c); err != nil {
		return protocol.Empty{}, mediaError(err, "candidate")
	}
	return protocol.Empty{}, nil
}
