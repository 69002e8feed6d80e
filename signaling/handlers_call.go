package signaling

import (
	"context"
	"fmt"

	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

func registerCallMethods(d *Dispatcher[*session]) {
	reg(d, protocol.MethodCall, (*session).call)
	reg(d, protocol.MethodGroupCall, (*session).groupCall)
	reg(d, protocol.MethodCalls, (*session).calls)
	reg(d, protocol.MethodAccept, (*session).accept)
	reg(d, protocol.MethodReject, (*session).reject)
	reg(d, protocol.MethodIgnore, (*session).ignore)
	reg(d, protocol.MethodHangup, (*session).hangup)
	reg(d, protocol.MethodInviteUser, (*session).inviteUser)
	reg(d, protocol.MethodJoinInGroupCall, (*session).joinInGroupCall)
	reg(d, protocol.MethodJoin, (*session).join)
	reg(d, protocol.MethodPrepareCall, (*session).prepareCall)
	reg(d, protocol.MethodSwitchCallMediaType, (*session).switchCallMediaType)
	reg(d, protocol.MethodQueryRecentCalls, (*session).queryRecentCalls)
	reg(d, protocol.MethodDeleteRecordCalls, (*session).deleteRecordCalls)
}

// withMachine runs op on the call machine under the Service lock and queues its output on
// the sessions' effects (effects.go); the session becomes the user's call session when
// markCallSession is set. Invitations whose timeout has run out expire first, so op never
// finds one still ringing (D8, D215). It returns once the session's own effects have run
// (those of the expiry too, also when op fails): no other user's request waits for them.
func (sess *session) withMachine(markCallSession bool, op func(m *call.Machine, u *user) (call.Output, error)) (call.Output, error) {
	s := sess.svc
	// Its own effects run on this goroutine at the settle, not on the queue's (D195).
	sess.effects.hold()
	defer sess.effects.settleHeld() // its room joined and its events sent before the result
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(sess)
	if u == nil {
		return call.Output{}, protocol.NewError(protocol.CodeNotLoggedIn, "not logged in: log in first")
	}
	s.expireDueLocked(u.tenant) // its events run at the settle, before the result or error
	out, err := op(u.tenant.machine, u)
	if err != nil {
		return call.Output{}, callError(err)
	}
	if markCallSession {
		u.callSession = sess.id
	}
	s.executeLocked(u.tenant, out, sess)
	return out, nil
}

// startCall is the shared body of call, groupCall and calls (D7).
func (sess *session) startCall(req call.CallRequest, params protocol.CallParams) (protocol.CallStartResult, error) {
	s := sess.svc
	if s.Draining() {
		return protocol.CallStartResult{}, protocol.NewError(protocol.CodeServerDraining, "the server is shutting down")
	}
	if err := sess.checkInvitations(len(req.Invitees)); err != nil {
		return protocol.CallStartResult{}, err
	}
	req.RoomID = params.RoomID
	req.Timeout = params.Timeout
	req.UserData = params.UserData
	req.OfflinePushInfo = params.OfflinePushInfo
	out, err := sess.withMachine(true, func(m *call.Machine, u *user) (call.Output, error) {
		if err := s.roomFreeLocked(u.tenant, req.RoomID); err != nil {
			return call.Output{}, err
		}
		if err := s.roomQuotaLocked(u.tenant); err != nil {
			return call.Output{}, err
		}
		req.Caller = u.profile
		req.Session = sess.id
		return m.Call(s.now(), req)
	})
	if err != nil {
		return protocol.CallStartResult{}, err
	}
	return protocol.CallStartResult{CallID: out.CallID, RoomID: out.RoomID}, nil
}

func (sess *session) call(_ context.Context, p protocol.CallMethodParams) (protocol.CallStartResult, error) {
	return sess.startCall(call.CallRequest{Kind: call.KindSingle, Invitees: []string{p.UserID}, MediaType: p.MediaType}, p.Params)
}

func (sess *session) groupCall(_ context.Context, p protocol.GroupCallParams) (protocol.CallStartResult, error) {
	return sess.startCall(call.CallRequest{Kind: call.KindGroup, GroupID: p.GroupID, Invitees: p.UserIDList, MediaType: p.MediaType}, p.Params)
}

func (sess *session) calls(_ context.Context, p protocol.CallsParams) (protocol.CallStartResult, error) {
	return sess.startCall(call.CallRequest{Kind: call.KindCalls, ChatGroupID: p.GroupID(), Invitees: p.UserIDList, MediaType: p.MediaType}, p.Params)
}

func (sess *session) accept(_ context.Context, p protocol.AcceptParams) (protocol.Empty, error) {
	_, err := sess.withMachine(true, func(m *call.Machine, u *user) (call.Output, error) {
		if err := namesUsersCall(m, u, "accept", p.CallID, call.ErrNotRinging); err != nil {
			return call.Output{}, err
		}
		return m.Accept(sess.svc.now(), u.id, sess.id, p.MediaType)
	})
	return protocol.Empty{}, err
}

func (sess *session) reject(_ context.Context, p protocol.CallIDParams) (protocol.Empty, error) {
	_, err := sess.withMachine(false, func(m *call.Machine, u *user) (call.Output, error) {
		if err := namesUsersCall(m, u, "reject", p.CallID, call.ErrNotRinging); err != nil {
			return call.Output{}, err
		}
		return m.Reject(sess.svc.now(), u.id, sess.id)
	})
	return protocol.Empty{}, err
}

func (sess *session) ignore(_ context.Context, p protocol.CallIDParams) (protocol.Empty, error) {
	_, err := sess.withMachine(false, func(m *call.Machine, u *user) (call.Output, error) {
		if err := namesUsersCall(m, u, "ignore", p.CallID, call.ErrNotRinging); err != nil {
			return call.Output{}, err
		}
		return m.Ignore(sess.svc.now(), u.id, sess.id)
	})
	return protocol.Empty{}, err
}

func (sess *session) hangup(_ context.Context, p protocol.CallIDParams) (protocol.Empty, error) {
	_, err := sess.withMachine(false, func(m *call.Machine, u *user) (call.Output, error) {
		if err := namesUsersCall(m, u, "hangup", p.CallID, call.ErrNotInCall); err != nil {
			return call.Output{}, err
		}
		if err := sess.inUsersCall(m, u, "hangup"); err != nil {
			return call.Output{}, err
		}
		return m.HangupFrom(sess.svc.now(), u.id, sess.id)
	})
	return protocol.Empty{}, err
}

// inUsersCall fails with call.ErrNotInCall (3003) when u dials or takes part in a call from
// another of its sessions: those are not in the call (D4, PROTOCOL.md §3), so they cannot
// end it, switch its media or invite into it. A ringing invitation rings on every session
// and any of them may answer it.
func (sess *session) inUsersCall(m *call.Machine, u *user, op string) error {
	st := m.UserState(u.id)
	if (st.State == call.Dialing || st.State == call.InCall) && st.Session != "" && st.Session != sess.id {
		return fmt.Errorf("%s by %s: the call is on another session of the user: %w", op, u.id, call.ErrNotInCall)
	}
	return nil
}

// namesUsersCall fails with notIt (call.ErrNotRinging: 3002 for an answer,
// call.ErrNotInCall: 3003 otherwise) when the request names a callId that is not u's
// current call: it was made for a call that ended while it was on its way (a late click),
// or for someone else's, and must not act on the call u is in or rings for now (D338). A
// request without a callId acts on the current call.
func namesUsersCall(m *call.Machine, u *user, op, callID string, notIt error) error {
	if callID == "" {
		return nil
	}
	if st := m.UserState(u.id); st.State == call.Idle || st.CallID != callID {
		return fmt.Errorf("%s by %s of call %q, which is not the user's current call: %w", op, u.id, callID, notIt)
	}
	return nil
}

func (sess *session) inviteUser(_ context.Context, p protocol.InviteUserParams) (protocol.InviteUserResult, error) {
	if err := sess.checkInvitations(len(p.UserIDList)); err != nil {
		return protocol.InviteUserResult{}, err
	}
	out, err := sess.withMachine(false, func(m *call.Machine, u *user) (call.Output, error) {
		if err := namesUsersCall(m, u, "inviteUser", p.CallID, call.ErrNotInCall); err != nil {
			return call.Output{}, err
		}
		if err := sess.inUsersCall(m, u, "inviteUser"); err != nil {
			return call.Output{}, err
		}
		return m.InviteUserWith(sess.svc.now(), u.profile, p.UserIDList, call.Invitation{
			Timeout: p.Params.Timeout, UserData: p.Params.UserData, OfflinePushInfo: p.Params.OfflinePushInfo})
	})
	if err != nil {
		return protocol.InviteUserResult{}, err
	}
	invited := out.Invited
	if invited == nil {
		invited = []string{}
	}
	return protocol.InviteUserResult{UserIDList: invited}, nil
}

func (sess *session) joinInGroupCall(_ context.Context, p protocol.JoinInGroupCallParams) (protocol.CallStartResult, error) {
	if err := sess.checkRate(limitRoomJoins); err != nil {
		return protocol.CallStartResult{}, err
	}
	out, err := sess.withMachine(true, func(m *call.Machine, u *user) (call.Output, error) {
		return m.JoinInGroupCall(sess.svc.now(), u.profile, sess.id, p.RoomID, p.GroupID, p.MediaType)
	})
	if err != nil {
		return protocol.CallStartResult{}, err
	}
	return protocol.CallStartResult{CallID: out.CallID, RoomID: out.RoomID}, nil
}

func (sess *session) join(_ context.Context, p protocol.JoinParams) (protocol.CallStartResult, error) {
	if err := sess.checkRate(limitRoomJoins); err != nil {
		return protocol.CallStartResult{}, err
	}
	out, err := sess.withMachine(true, func(m *call.Machine, u *user) (call.Output, error) {
		return m.Join(sess.svc.now(), u.profile, sess.id, p.CallID)
	})
	if err != nil {
		return protocol.CallStartResult{}, err
	}
	return protocol.CallStartResult{CallID: out.CallID, RoomID: out.RoomID}, nil
}

func (sess *session) switchCallMediaType(_ context.Context, p protocol.SwitchCallMediaTypeParams) (protocol.Empty, error) {
	if err := sess.checkRate(limitMediaSwitches); err != nil {
		return protocol.Empty{}, err
	}
	_, err := sess.withMachine(false, func(m *call.Machine, u *user) (call.Output, error) {
		if err := namesUsersCall(m, u, "switchCallMediaType", p.CallID, call.ErrNotInCall); err != nil {
			return call.Output{}, err
		}
		if err := sess.inUsersCall(m, u, "switchCallMediaType"); err != nil {
			return call.Output{}, err
		}
		return m.SwitchMediaType(sess.svc.now(), u.id, p.MediaType)
	})
	return protocol.Empty{}, err
}

func (sess *session) queryRecentCalls(ctx context.Context, p protocol.QueryRecentCallsParams) (protocol.QueryRecentCallsResult, error) {
	if err := sess.checkRecordRequestRate(); err != nil {
		return protocol.QueryRecentCallsResult{}, err
	}
	app, userID := sess.identity()
	recs, err := sess.svc.records.Query(ctx, app, userID, RecordQuery{Begin: p.Begin, End: p.End, Result: p.ResultType})
	if err != nil {
		return protocol.QueryRecentCallsResult{}, err
	}
	return protocol.QueryRecentCallsResult{Records: recs}, nil
}

func (sess *session) deleteRecordCalls(ctx context.Context, p protocol.DeleteRecordCallsParams) (protocol.DeleteRecordCallsResult, error) {
	if err := sess.checkRecordRequestRate(); err != nil {
		return protocol.DeleteRecordCallsResult{}, err
	}
	app, userID := sess.identity()
	deleted, err := sess.svc.records.Delete(ctx, app, userID, p.CallIDList)
	if err != nil {
		return protocol.DeleteRecordCallsResult{}, err
	}
	return protocol.DeleteRecordCallsResult{Deleted: deleted}, nil
}
