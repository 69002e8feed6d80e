package signaling

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// newDispatcher registers every method of the protocol.
func newDispatcher() *Dispatcher[*session] {
	d := NewDispatcher[*session]()
	d.SetGuard(func(_ context.Context, sess *session, method string) error {
		if err := sess.endedError(); err != nil {
			return err // kicked or expired: its socket closes next (D108)
		}
		if method != protocol.MethodLogin && !sess.loggedIn() {
			return protocol.NewError(protocol.CodeNotLoggedIn, "not logged in: log in first")
		}
		if needsLiveSig[method] && sess.sigLapsed(sess.svc.now()) {
			return protocol.NewError(protocol.CodeUserSigExpired,
				"userSig expired: log in again with a fresh userSig; until then only the call and room in progress go on")
		}
		return nil
	})
	reg(d, protocol.MethodLogin, (*session).login)
	reg(d, protocol.MethodLogout, (*session).logout)
	reg(d, protocol.MethodSetSelfInfo, (*session).setSelfInfo)
	reg(d, protocol.MethodEnableMultiDeviceAbility, (*session).enableMultiDevice)
	registerCallMethods(d)
	registerMediaMethods(d)
	return d
}

// login verifies the userSig (D1), resumes or starts the session, kicks older sessions of
// the user unless multi-device is on (D4), arms the expiry timer (D2) and sends
// onSdkReady (D3) plus any invitation still ringing for the user (D9).
func (sess *session) login(ctx context.Context, p protocol.LoginParams) (protocol.LoginResult, error) {
	s := sess.svc
	now := s.now()
	// A resume after a dropped connection is never refused for a rate (D193): it builds
	// no session and kicks nobody, and its userSig is still verified. Every other login
	// passes the client IP's failed-login gate, and once verified takes from the
	// connection's and the user's login buckets before it reads the store.
	resume := s.resumes(sess, p)
	if !resume {
		if err := sess.checkLoginRate(now); err != nil {
			return protocol.LoginResult{}, err
		}
	}
	claims, err := s.verifier.Verify(p.SDKAppID, p.UserID, p.UserSig, now)
	if err != nil {
		sess.loginFailed(now)
		return protocol.LoginResult{}, fmt.Errorf("login: %w", err)
	}
	if !resume {
		if err := sess.takeLogin(claims.SDKAppID, p.UserID, now); err != nil {
			return protocol.LoginResult{}, err
		}
	}
	// The stored profile is read before the lock: it may wait on Redis (D54).
	stored := s.loadProfile(ctx, claims.SDKAppID, p.UserID)
	s.mu.Lock()
	res, acting, err := sess.loginLocked(p, claims, now, stored)
	s.mu.Unlock()
	if acting != nil {
		acting.settle() // onSdkReady (and a resume's replay) before the result
	}
	return res, err
}

// resumes reports whether the login p on sess resumes a session (loginLocked's resume
// case): sess is not logged in and p's resumeToken is that of a session of the same user
// still waiting in the resume table.
func (s *Service) resumes(sess *session, p protocol.LoginParams) bool {
	if p.ResumeToken == "" {
		return false
	}
	if _, current := sess.identity(); current != "" {
		return false // a renewal on a logged-in session
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.resumable[p.ResumeToken]
	if old == nil {
		return false
	}
	app, userID := old.identity()
	return app == p.SDKAppID && userID == p.UserID
}

// loginLocked is login under Service.mu; acting is the session whose queued notifications
// the result must follow. stored is the user's stored profile, for a user with no session.
func (sess *session) loginLocked(p protocol.LoginParams, claims Claims, now time.Time, stored StoredProfile) (_ protocol.LoginResult, acting *session, _ error) {
	s := sess.svc
	if s.closed || s.server.Draining() {
		return protocol.LoginResult{}, nil, protocol.NewError(protocol.CodeServerDraining, "the server is shutting down")
	}
	t := s.tenants[claims.SDKAppID]
	if t == nil { // Verify accepts configured apps only, and every one has a tenant
		return protocol.LoginResult{}, nil, fmt.Errorf("login: SDKAppID %d has no tenant: %w", claims.SDKAppID, ErrUnknownApp)
	}
	s.expireDueLocked(t) // the user's expired invitation is not handed over (D9, D215)
	app, current := sess.identity()
	switch {
	case current != "" && (current != p.UserID || app != p.SDKAppID):
		return protocol.LoginResult{}, nil, protocol.Errorf(protocol.CodeAlreadyLoggedIn, "this session is logged in as %q of SDKAppID %d", current, app)
	case current != "":
		// A fresh userSig on a logged-in session (D2): only the expiry changes; it is a
		// login all the same, so onSdkReady comes before the result (D3).
		sess.armExpiry(claims.ExpiresAt)
		sess.post(protocol.EventSdkReady, protocol.SdkReadyEvent{UserID: p.UserID})
		return sess.loginResult(now), sess, nil
	}

	if old := s.resumable[p.ResumeToken]; p.ResumeToken != "" && old != nil {
		if oldApp, oldUser := old.identity(); oldApp == p.SDKAppID && oldUser == p.UserID {
			old.attach(sess.adapter, p.LastSeq)
			old.armExpiry(claims.ExpiresAt)
			old.post(protocol.EventSdkReady, protocol.SdkReadyEvent{UserID: p.UserID})
			return old.loginResult(now), old, nil
		}
	}

	if err := t.sessionQuotaLocked(p.UserID); err != nil {
		return protocol.LoginResult{}, nil, err
	}
	if u := t.users[p.UserID]; u != nil {
		if !u.multiDevice {
			stored = u.stored() // newer than the store's: its write may still be queued
			s.kickSessionsLocked(u, nil, "logged in elsewhere")
		} else if max := s.cfg.Signaling.MaxSessionsPerUser; len(u.sessions) >= max {
			return protocol.LoginResult{}, nil, protocol.Errorf(protocol.CodeTooManySessions,
				"user %q already has %d sessions (signaling.max_sessions_per_user): log one out first", p.UserID, max)
		}
	}
	sess.mu.Lock()
	sess.app = p.SDKAppID
	sess.userID = p.UserID
	sess.resumeToken = randomHex(16)
	sess.mu.Unlock()
	s.registerLocked(t, sess, stored)
	sess.armExpiry(claims.ExpiresAt)
	sess.post(protocol.EventSdkReady, protocol.SdkReadyEvent{UserID: p.UserID})
	for _, ev := range t.machine.PendingInvitations(now, p.UserID) {
		sess.postEvent(ev)
	}
	return sess.loginResult(now), sess, nil
}

// kickSessionsLocked kicks every session of u but keep (D4): each gets onKickedOffline,
// its call ends for it as if it had left (D28), and its socket closes with 4007.
func (s *Service) kickSessionsLocked(u *user, keep *session, why string) {
	for _, older := range append([]*session(nil), u.sessions...) {
		if older == keep {
			continue
		}
		older.post(protocol.EventKickedOffline, protocol.KickedOfflineEvent{})
		older.endWith(protocol.CodeKicked)
		// A session whose socket is lost is not online: its ringing invitation goes on
		// to the session that stays, as to any invitee that logs in (D9, D110).
		s.endSessionKeepingLocked(older, protocol.CancelReasonDisconnect, older.isDetached())
		older.later(func() { older.closeConn(closeKicked, why) })
	}
}

func (sess *session) loginResult(now time.Time) protocol.LoginResult {
	sess.mu.Lock()
	res := protocol.LoginResult{UserID: sess.userID, ResumeToken: sess.resumeToken, ExpiresAt: sess.sigExpires.Unix()}
	app := sess.app
	sess.mu.Unlock()
	if sess.svc.iceServers != nil {
		res.ICEServers = sess.svc.iceServers(TURNUser(app, res.UserID), now)
	}
	if res.ICEServers == nil {
		res.ICEServers = []protocol.ICEServer{} // always an array on the wire, [] for none
	}
	return res
}

// needsLiveSig are the methods a session whose userSig expired does not get in the grace
// before its end (D2, D337): they start a call, an invitation, or entering a call or room
// the session is not in, or change the account (profile, multi-device flag — turning it
// off kicks the user's other sessions —, records). Login renews; everything else (the call
// and room in progress, answering an invitation, reading records) goes on.
var needsLiveSig = map[string]bool{
	protocol.MethodCall: true, protocol.MethodGroupCall: true, protocol.MethodCalls: true,
	protocol.MethodInviteUser: true, protocol.MethodJoin: true, protocol.MethodJoinInGroupCall: true,
	protocol.MethodJoinRoom: true, protocol.MethodSetSelfInfo: true,
	protocol.MethodEnableMultiDeviceAbility: true, protocol.MethodDeleteRecordCalls: true,
}

// sigLapsed reports whether the session's userSig expired at now and no login renewed it.
func (sess *session) sigLapsed(now time.Time) bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return !sess.sigExpires.IsZero() && !now.Before(sess.sigExpires)
}

// armExpiry schedules onUserSigExpired at exp and the logout at exp + grace (D2). A later
// armExpiry (a fresh userSig) supersedes both, even when the first timer already fired.
func (sess *session) armExpiry(exp time.Time) {
	s := sess.svc
	sess.mu.Lock()
	sess.sigExpires = exp
	sess.sigGen++
	gen := sess.sigGen
	oldSig, oldGrace := sess.sigTimer, sess.graceTimer
	sess.sigTimer, sess.graceTimer = nil, nil
	sess.mu.Unlock()
	s.stopTimer(oldSig)
	s.stopTimer(oldGrace)
	if exp.IsZero() {
		return
	}
	current := func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.sigGen == gen && !sess.ended
	}
	grace := s.cfg.Auth.SigExpiryGrace
	t := s.afterFunc(exp.Sub(s.now()), func() {
		if !current() {
			return
		}
		sess.post(protocol.EventUserSigExpired, protocol.UserSigExpiredEvent{GraceSeconds: int(grace / time.Second)})
		graceTimer := s.afterFunc(grace, func() {
			s.mu.Lock()
			if !current() {
				s.mu.Unlock()
				return
			}
			sess.endWith(protocol.CodeUserSigExpired)
			s.endSessionLocked(sess, protocol.CancelReasonDisconnect)
			sess.later(func() { sess.closeConn(closeLoggedOut, "userSig expired") })
			s.mu.Unlock()
		})
		sess.mu.Lock()
		if sess.sigGen != gen {
			sess.mu.Unlock()
			s.stopTimer(graceTimer)
			return
		}
		old := sess.graceTimer
		sess.graceTimer = graceTimer
		sess.mu.Unlock()
		s.stopTimer(old)
	})
	sess.mu.Lock()
	sess.sigTimer = t
	sess.mu.Unlock()
}

// logout ends the session's presence: its call ends for it, it leaves its room.
func (sess *session) logout(_ context.Context, _ protocol.Empty) (protocol.Empty, error) {
	s := sess.svc
	s.mu.Lock()
	s.endSessionLocked(sess, protocol.CancelReasonDisconnect)
	s.mu.Unlock()
	sess.settle() // the session hears its own call end before the result (D4)
	sess.mu.Lock()
	sess.userID, sess.app = "", 0 // back to the login gate; the connection stays open
	sess.ended = false
	sess.mu.Unlock()
	return protocol.Empty{}, nil
}

// setSelfInfo sets the profile invitations carry (D5) and stores it beyond the user's
// sessions (D54) before it answers.
func (sess *session) setSelfInfo(_ context.Context, p protocol.SetSelfInfoParams) (protocol.Empty, error) {
	if err := sess.checkProfileWriteRate(); err != nil {
		return protocol.Empty{}, err
	}
	s := sess.svc
	s.mu.Lock()
	if u := s.userLocked(sess); u != nil {
		u.profile.Nickname, u.profile.Avatar = p.Nickname, p.Avatar
		s.storeProfileLocked(sess, u, func(ctx context.Context, app int, id string, sp StoredProfile) error {
			return s.profiles.SaveProfile(ctx, app, id, sp.Nickname, sp.Avatar)
		})
	}
	s.mu.Unlock()
	sess.settle()
	return protocol.Empty{}, nil
}

// enableMultiDevice turns the user's multi-device mode on or off (D4) and stores it beyond
// the user's sessions (D54) before it answers.
func (sess *session) enableMultiDevice(_ context.Context, p protocol.EnableMultiDeviceAbilityParams) (protocol.Empty, error) {
	if err := sess.checkProfileWriteRate(); err != nil {
		return protocol.Empty{}, err
	}
	s := sess.svc
	s.mu.Lock()
	if u := s.userLocked(sess); u != nil {
		u.multiDevice = p.Enable
		if !p.Enable {
			// Off means one session per user (D4): the one that turned it off stays, as a
			// new login would, and the others are kicked (D178).
			s.kickSessionsLocked(u, sess, "multi-device turned off on another session")
		}
		s.storeProfileLocked(sess, u, func(ctx context.Context, app int, id string, sp StoredProfile) error {
			return s.profiles.SaveMultiDevice(ctx, app, id, sp.MultiDevice)
		})
	}
	s.mu.Unlock()
	sess.settle()
	return protocol.Empty{}, nil
}

// callError maps the call machine's sentinel errors to protocol errors.
func callError(err error) error {
	codes := []struct {
		target error
		code   int
	}{
		{call.ErrNotRinging, protocol.CodeNoCallRinging},
		{call.ErrNotInCall, protocol.CodeNotInCall},
		{call.ErrNoSuchCall, protocol.CodeNoSuchCall},
		{call.ErrSelfInvite, protocol.CodeCannotInviteSelf},
		{call.ErrCallerBusy, protocol.CodeAlreadyInCall},
		{call.ErrAlreadyInCall, protocol.CodeAlreadyInCall},
		{call.ErrInvalidTimeout, protocol.CodeInvalidTimeout},
		{call.ErrInvalidMediaType, protocol.CodeInvalidMediaType},
		{call.ErrGroupMediaSwitch, protocol.CodeMediaSwitchNotAllowed},
		{call.ErrTooManyInvitees, protocol.CodeTooManyInvitees},
		{call.ErrNoInvitees, protocol.CodeNoInvitees},
	}
	for _, c := range codes {
		if errors.Is(err, c.target) {
			return protocol.NewError(c.code, err.Error())
		}
	}
	return err
}

// reg registers a Session method expression as the handler of method.
func reg[P, R any](d *Dispatcher[*session], method string, fn func(*session, context.Context, P) (R, error)) {
	Register(d, method, func(ctx context.Context, sess *session, p P) (R, error) { return fn(sess, ctx, p) })
}
