package signaling

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// retainLimit and retainBytesLimit bound the notifications a session keeps for a resume
// (the newest ones; SDP offers are the big ones):
// those its socket may have lost before the drop was noticed, and those sent while it
// waits for the resume (signaling.reconnect_grace).
const (
	retainLimit      = 512
	retainBytesLimit = 256 << 10
)

// closeKicked is the WebSocket close code of a session replaced by a newer login (D4) or
// logged out by the server (userSig grace over).
const (
	closeKicked    = 4007
	closeLoggedOut = 4003
)

// session is one logged-in presence of a user. It outlives its WebSocket connection for
// signaling.reconnect_grace so that a client can resume (login with its resumeToken).
//
// Concurrency: mu guards the fields below it. Requests of the session run one at a time
// (its connection's dispatch goroutine, or reader's, holding the turn: after a resume the
// old connection's last request may still run); sfu goroutines call the room.Signaller
// methods; timers call back on their own goroutines.
type session struct {
	svc *Service
	id  string
	// effects carries out, in order, what the Service decided for this session: room joins
	// and leaves, notifications (post), closing the socket (effects.go).
	effects serial
	// turn holds a token while one of the session's requests runs (capacity 1). One
	// connection's requests run one at a time anyway; the turn keeps that true across a
	// resume: the new connection's requests wait for the one the old connection still runs
	// (D340).
	turn chan struct{}

	mu          sync.Mutex
	conn        wire         // the connection now speaking for the session (nil while detached)
	adapter     *connSession // the connection adapter that currently routes to this session
	app         int          // SDKAppID of the login (0 until login); with userID the identity (D26)
	userID      string       // empty until login
	resumeToken string
	sigExpires  time.Time
	ended       bool
	endedWith   int         // the code a request of an ended session gets (D108): 1007 kicked, 1003 userSig grace over, else 5001
	seq         uint64      // seq of the last notification
	handedSeq   uint64      // seq of the last notification a live connection accepted
	retained    []sentNote  // non-ephemeral notifications, oldest first, within the limits
	retainedLen int         // bytes of the frames in retained
	evictedSeq  uint64      // seq of the newest notification pushed out of retained
	participant participant // in roomID: local, or on another node (rooms.go)
	roomID      room.ID
	early       bool        // participant joined early (prepareCall) and not yet activated
	sigGen      uint64      // bumped by every armExpiry; stale expiry timers do nothing
	sigTimer    *time.Timer // fires at the userSig's exp (D2)
	graceTimer  *time.Timer // fires at the end of the D2 grace, or of the reconnect grace

	buckets [numSessionLimits]*rate.Limiter // per-session rate limits, each made on first use (limits.go)
}

// sentNote is one encoded notification kept for a resume. An invitation keeps its payload
// and deadline too: its replay states the seconds left then, not the timeout it was sent
// with.
type sentNote struct {
	seq    uint64
	frame  []byte
	invite *keptInvitation
}

// keptInvitation is an onCallReceived kept for a resume, with the deadline of its ringing.
type keptInvitation struct {
	event protocol.CallReceivedEvent
	until time.Time
}

// replayFrame is n's frame for a replay at now: an invitation is encoded again with the
// seconds left (call.RemainingSeconds, as for an invitee logging in, D110).
func (n sentNote) replayFrame(now time.Time) []byte {
	if n.invite == nil {
		return n.frame
	}
	ev := n.invite.event
	ev.Timeout = call.RemainingSeconds(n.invite.until, now)
	frame, err := protocol.EncodeNotification(protocol.EventCallReceived, ev, n.seq)
	if err != nil {
		return n.frame
	}
	return frame
}

// ephemeral notifications are periodic reports superseded by the next one: they are not
// kept for a resume (a stale volume or quality is worse than none).
func ephemeral(method string) bool {
	return method == protocol.EventUserVoiceVolumeChanged || method == protocol.EventUserNetworkQualityChanged
}

// connSession adapts one WebSocket connection to the Session it currently speaks for: a
// fresh Session before login, possibly an older one after a resume.
type connSession struct {
	svc  *Service
	conn wire
	sess *session // read and written only by the goroutine handling the connection's requests (one at a time) and HandleClose
	// front is set on a connection whose tenant another node owns: its requests go there
	// (relay_front.go); relayed marks the owner's side of such a connection (relay_owner.go).
	front   *relayFront
	relayed bool
	present presenceNote  // what this connection recorded in the cluster's presence (presence.go)
	logins  *rate.Limiter // limits.connection_logins_* of this connection (D193)
}

func (s *Service) newConnSession(c *Conn) SessionHandler {
	return s.newWireSession(c)
}

// newWireSession adapts a connection (a WebSocket here, or one relayed from another node).
func (s *Service) newWireSession(c wire) *connSession {
	l := s.limits.cfg
	cs := &connSession{svc: s, conn: c, logins: rate.NewLimiter(perMinute(l.ConnectionLoginsPerMinute), l.ConnectionLoginsBurst)}
	cs.sess = s.newSession(c, cs)
	return cs
}

// HandleRequest dispatches the request to the session's handlers once the effects already
// decided for the session have run: a request sees (and its answer follows) every event
// the server sent the session before it. A connection without a logged-in session must
// log in within signaling.login_timeout (Conn.SetLoggedIn).
func (cs *connSession) HandleRequest(ctx context.Context, req protocol.Request) (any, error) {
	if front, err := cs.relayTo(ctx, req); front != nil || err != nil {
		if err != nil {
			return nil, err
		}
		result, err := front.forward(ctx, req) // relay_front.go
		cs.syncPresence(ctx, req, err)
		return result, err
	}
	sess := cs.sess // a resume's login makes cs.sess the resumed session: the turn is this one's
	if err := sess.takeTurn(ctx, cs.conn); err != nil {
		return nil, err
	}
	defer sess.giveTurn()
	if hook := cs.svc.beforeRequest; hook != nil {
		hook(sess.UserID(), req.Method)
	}
	sess.settle()
	result, err := cs.svc.dispatcher.Dispatch(ctx, sess, req)
	cs.conn.SetLoggedIn(cs.sess.loggedIn())
	cs.syncPresence(ctx, req, err)
	return result, err
}

// errResumedElsewhere answers a request a connection read after its session was resumed
// on another connection (the client never reads it: that connection is being closed).
var errResumedElsewhere = protocol.NewError(protocol.CodeKicked, "the session was resumed on another connection")

// takeTurn waits until no other request of the session runs (D340): after a resume, the
// new connection's first request waits for the old connection's last. A request of a
// connection the session has left (a resume moved it on) is refused instead: it was read
// before the drop, and running it after the new connection's would undo what they did
// (an offer the client took back applied over the one it sent next).
func (sess *session) takeTurn(ctx context.Context, conn wire) error {
	select {
	case sess.turn <- struct{}{}:
	case <-ctx.Done():
		return errResumedElsewhere // only a connection that closes stops waiting
	}
	sess.mu.Lock()
	moved := sess.conn != nil && sess.conn != conn
	sess.mu.Unlock()
	if moved {
		<-sess.turn
		return errResumedElsewhere
	}
	return nil
}

// giveTurn ends the request that took the turn.
func (sess *session) giveTurn() { <-sess.turn }

// inlineMethods are the requests a connection may run on its reader goroutine (D196): the
// call machine's inputs, which wait for nothing but the session's own effects (its call
// room's join or leave), never on the client or another node.
var inlineMethods = map[string]bool{
	protocol.MethodCall: true, protocol.MethodGroupCall: true, protocol.MethodCalls: true,
	protocol.MethodAccept: true, protocol.MethodReject: true, protocol.MethodIgnore: true,
	protocol.MethodHangup: true, protocol.MethodInviteUser: true, protocol.MethodJoin: true,
	protocol.MethodJoinInGroupCall: true, protocol.MethodSwitchCallMediaType: true,
}

// Inline lets the call machine's inputs run on the reader goroutine (Conn.InlineHandler),
// on a single node: in a cluster a request may be relayed or wait on Redis.
func (cs *connSession) Inline(req protocol.Request) bool {
	return cs.front == nil && cs.svc.relays.cl == nil && inlineMethods[req.Method]
}

// HandleClose keeps a logged-in session for the reconnect grace, then logs it out.
func (cs *connSession) HandleClose() {
	cs.clearPresence(context.Background())
	if cs.front != nil {
		cs.front.clientGone()
	}
	sess := cs.sess
	if !sess.detach(cs.conn) {
		return // not logged in, replaced by a resume, or already ended
	}
	s := cs.svc
	s.mu.Lock()
	if u := s.userLocked(sess); u != nil {
		s.reportOfflineIfLostLocked(u.tenant, u.id) // its last online session (D286)
	}
	s.mu.Unlock()
	grace := s.cfg.Signaling.ReconnectGrace
	sess.setGraceTimer(s.afterFunc(grace, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if sess.isDetached() {
			s.endSessionLocked(sess, protocol.CancelReasonDisconnect)
		}
	}))
}

// newSession is a fresh, not yet logged-in session of connection c.
func (s *Service) newSession(c wire, cs *connSession) *session {
	sess := &session{svc: s, id: randomHex(8), conn: c, adapter: cs, turn: make(chan struct{}, 1)}
	sess.effects.count = &s.effects
	return sess
}

// later queues fn on the session's effects (effects.go).
func (sess *session) later(fn func()) { sess.effects.do(fn) }

// post queues a notification behind the session's earlier effects, so a client that gets
// onCallBegin finds its room joined, and events keep the order the Service decided them.
func (sess *session) post(method string, params any) {
	sess.effects.do(func() { sess.notify(method, params) })
}

// postEvent is post for an event of the call machine; an invitation keeps its deadline for
// a replay (sentNote.replayFrame).
func (sess *session) postEvent(ev call.Event) {
	inv, ok := ev.Payload.(protocol.CallReceivedEvent)
	if !ok || ev.RingsUntil.IsZero() {
		sess.post(ev.Name, ev.Payload)
		return
	}
	kept := &keptInvitation{event: inv, until: ev.RingsUntil}
	sess.effects.do(func() { sess.notifyKept(ev.Name, inv, kept) })
}

// settled returns a channel closed when every effect queued so far has run.
func (sess *session) settled() <-chan struct{} { return sess.effects.barrier() }

// settle returns when every effect queued so far has run, running them on the caller's
// goroutine when the session's queue is idle (effects.go, D195).
func (sess *session) settle() { sess.effects.settle() }

// ---- state ----

// UserID is the logged-in user ("" before login).
func (sess *session) UserID() string {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.userID
}

func (sess *session) loggedIn() bool { return sess.UserID() != "" }

// identity is the logged-in (SDKAppID, userId); ("", 0) before login.
func (sess *session) identity() (app int, userID string) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.app, sess.userID
}

// endedError is the error of a request that reaches a session after it ended but before
// its socket closed (D108): the session does nothing more. nil while it is not ended.
func (sess *session) endedError() error {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	switch {
	case !sess.ended:
		return nil
	case sess.endedWith == protocol.CodeKicked:
		return protocol.NewError(protocol.CodeKicked, "the session was replaced by a newer login of the same user (onKickedOffline); log in on a new connection")
	case sess.endedWith == protocol.CodeUserSigExpired:
		return protocol.NewError(protocol.CodeUserSigExpired, "the session ended: its userSig expired and no fresh login came in time; log in on a new connection")
	default: // Service.Close
		return protocol.NewError(protocol.CodeServerDraining, "the server is shutting down")
	}
}

// endWith records the code of endedError before the session is ended.
func (sess *session) endWith(code int) {
	sess.mu.Lock()
	sess.endedWith = code
	sess.mu.Unlock()
}

// markEnded flips the session to ended once; false if it already was.
func (sess *session) markEnded() bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.ended {
		return false
	}
	sess.ended = true
	sess.retained, sess.retainedLen = nil, 0
	return true
}

// detach forgets conn if it is the session's connection and the session is logged in and
// not ended; it reports whether the session now waits for a resume.
func (sess *session) detach(conn wire) bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.conn != conn || sess.userID == "" || sess.ended {
		return false
	}
	sess.conn = nil
	return true
}

func (sess *session) isDetached() bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.conn == nil && !sess.ended
}

// attach moves the session onto a new connection (resume), closing the old one if it is
// still open, and replays the kept notifications after lastSeq (nil: after the last one
// the old connection accepted) ahead of any newer one.
func (sess *session) attach(cs *connSession, lastSeq *uint64) {
	sess.mu.Lock()
	old := sess.conn
	sess.conn = cs.conn
	sess.adapter = cs
	grace := sess.graceTimer
	sess.graceTimer = nil
	from := sess.handedSeq
	if lastSeq != nil {
		from = *lastSeq
	}
	if sess.evictedSeq > from {
		cs.conn.Logger().Warn("resume: some notifications after lastSeq were no longer kept", "lastSeq", from, "lastEvicted", sess.evictedSeq)
	}
	now := sess.svc.now()
	for _, n := range sess.retained {
		if n.seq > from && cs.conn.enqueue(n.replayFrame(now)) == nil {
			sess.handedSeq = n.seq
		}
	}
	sess.mu.Unlock()
	cs.sess = sess
	sess.svc.stopTimer(grace)
	if old != nil && old != cs.conn {
		old.Close(closeKicked, "session resumed on another connection")
	}
}

// notify numbers and sends a notification; unless it is ephemeral, it is also kept for a
// resume (the socket may be dead without anybody knowing yet, or gone already).
func (sess *session) notify(method string, params any) {
	sess.notifyKept(method, params, nil)
}

// notifyKept is notify; invite, if not nil, is kept with the note for its replay.
func (sess *session) notifyKept(method string, params any, invite *keptInvitation) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	conn := sess.conn
	keep := !ephemeral(method) && !sess.ended
	if conn == nil && !keep {
		return
	}
	sess.seq++
	frame, err := protocol.EncodeNotification(method, params, sess.seq)
	if err != nil {
		sess.svc.log.Error("notification not encodable", "method", method, "error", err)
		return
	}
	if keep {
		sess.retain(sentNote{seq: sess.seq, frame: frame, invite: invite})
	}
	if conn == nil {
		return
	}
	// Enqueueing never blocks (a full queue closes the connection), so it happens under mu
	// and the wire order is the seq order.
	switch err := conn.enqueue(frame); {
	case err == nil:
		sess.handedSeq = sess.seq
	case errors.Is(err, ErrConnClosed):
		// The socket is going away; a resume replays what is kept.
	default:
		conn.Logger().Warn("notification dropped", "method", method, "error", err)
	}
}

// retain keeps n, evicting the oldest notes beyond the limits. Called with mu held.
func (sess *session) retain(n sentNote) {
	sess.retained = append(sess.retained, n)
	sess.retainedLen += len(n.frame)
	drop := 0
	for len(sess.retained)-drop > retainLimit || (sess.retainedLen > retainBytesLimit && drop < len(sess.retained)-1) {
		sess.evictedSeq = sess.retained[drop].seq
		sess.retainedLen -= len(sess.retained[drop].frame)
		drop++
	}
	if drop > 0 {
		// Slide the window instead of copying it down (a full window is 512 notes per
		// notification); append moves the live notes to a new array when this one is used up.
		clear(sess.retained[:drop])
		sess.retained = sess.retained[drop:]
	}
}

// closeConn closes the session's connection, if any.
func (sess *session) closeConn(code int, reason string) {
	sess.mu.Lock()
	conn := sess.conn
	sess.mu.Unlock()
	if conn != nil {
		conn.Close(code, reason)
	}
}

func (sess *session) setGraceTimer(t *time.Timer) {
	sess.mu.Lock()
	old := sess.graceTimer
	sess.graceTimer = t
	sess.mu.Unlock()
	sess.svc.stopTimer(old)
}

func (sess *session) stopTimers() {
	sess.mu.Lock()
	sig, grace := sess.sigTimer, sess.graceTimer
	sess.sigTimer, sess.graceTimer = nil, nil
	sess.mu.Unlock()
	sess.svc.stopTimer(sig)
	sess.svc.stopTimer(grace)
}

// ---- rooms ----

// enterCallRoom joins the room of the session's call (leaving another room first) with
// every right; the room closes as soon as the call's last user left it. id is already in
// the session's app (tenant.roomID). In that room already: an early participant (prepared
// while the call rang, early.go) becomes an ordinary one in place; otherwise a no-op.
// acceptedAt (the server's accept) is the origin of the participant's call steps (D135).
// In a cluster that places rooms by load, the room is placed at its first media request
// (D187).
func (sess *session) enterCallRoom(id room.ID, acceptedAt time.Time) error {
	return sess.enterRoom(id, room.JoinOptions{Rights: room.FullRights, CloseWhenEmpty: true, AcceptedAt: acceptedAt}, true)
}

// enterRoomWith joins room id with opts (rights D27, early, closing when empty), leaving
// another room first. Joining the room it is in activates an early participant unless
// opts ask for an early one again, and otherwise does nothing.
func (sess *session) enterRoomWith(id room.ID, opts room.JoinOptions) error {
	return sess.enterRoom(id, opts, false)
}

// enterRoom is enterRoomWith; deferred lets placement wait for media (Service.joinRoom).
func (sess *session) enterRoom(id room.ID, opts room.JoinOptions, deferred bool) error {
	sess.mu.Lock()
	current, currentID, early := sess.participant, sess.roomID, sess.early
	userID := sess.userID
	sess.mu.Unlock()
	if current != nil {
		if currentID == id {
			if early && !opts.Early {
				if err := current.ActivateAt(opts.AcceptedAt); err != nil {
					return err
				}
				sess.mu.Lock()
				sess.early = false
				sess.mu.Unlock()
			}
			return nil
		}
		sess.exitRoom()
	}
	if hook := sess.svc.beforeJoin; hook != nil {
		hook(userID)
	}
	p, err := sess.svc.joinRoom(id, userID, opts, sess, deferred)
	if err != nil {
		return err
	}
	sess.mu.Lock()
	ended := sess.ended
	if !ended {
		sess.participant, sess.roomID, sess.early = p, id, opts.Early
	}
	sess.mu.Unlock()
	if ended {
		// The session ended while it joined (a login elsewhere during its joinRoom): the
		// exit it queued found no participant, so this one leaves now or stays for good
		// (D275).
		if err := p.Leave(); err != nil {
			sess.svc.log.Debug("leave room", "user", userID, "error", err)
		}
		return sess.endedError()
	}
	return nil
}

// exitRoom leaves the session's room, if any.
func (sess *session) exitRoom() {
	sess.mu.Lock()
	p := sess.participant
	sess.participant, sess.roomID, sess.early = nil, room.ID{}, false
	sess.mu.Unlock()
	if p != nil {
		if hook := sess.svc.beforeLeave; hook != nil {
			hook(p.UserID())
		}
		if err := p.Leave(); err != nil {
			sess.svc.log.Debug("leave room", "user", p.UserID(), "error", err)
		}
	}
}

func (sess *session) inRoom(id room.ID) bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.participant != nil && sess.roomID == id
}

// currentParticipant is the session's room participant, or CodeNotInRoom.
func (sess *session) currentParticipant() (participant, room.ID, error) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.participant == nil {
		return nil, room.ID{}, protocol.NewError(protocol.CodeNotInRoom, "not in a room: join a call or a room first")
	}
	return sess.participant, sess.roomID, nil
}

// ---- room.Signaller ----

// SendSubscriberOffer sends the server's subscriber offer.
func (sess *session) SendSubscriberOffer(offer webrtc.SessionDescription) {
	sess.notify(protocol.MethodOffer, protocol.OfferParams{
		Target: protocol.TargetSubscriber,
		SDP:    protocol.SessionDescription{Type: offer.Type.String(), SDP: offer.SDP},
	})
}

// SendCandidate sends a server ICE candidate of the target PeerConnection.
func (sess *session) SendCandidate(target room.Target, c webrtc.ICECandidateInit) {
	cand := protocol.ICECandidate{
		Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment,
	}
	sess.notify(protocol.MethodTrickle, protocol.TrickleParams{Target: protocol.Target(target.String()), Candidate: cand})
}

func (sess *session) String() string {
	return fmt.Sprintf("session %s (%s)", sess.id, sess.UserID())
}
