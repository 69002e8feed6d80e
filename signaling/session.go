package signaling

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// backlogLimit bounds the notifications kept for a session whose socket dropped, delivered
// when it resumes within signaling.reconnect_grace.
const backlogLimit = 512

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
// on its connection's dispatch goroutine; sfu goroutines call the room.Signaller methods;
// timers call back on their own goroutines.
type session struct {
	svc *Service
	id  string

	mu          sync.Mutex
	conn        *Conn
	adapter     *connSession // the connection adapter that currently routes to this session
	userID      string       // empty until login
	resumeToken string
	sigExpires  time.Time
	ended       bool
	backlog     []queuedNote
	participant *room.Participant
	roomID      room.ID
	sigGen      uint64      // bumped by every armExpiry; stale expiry timers do nothing
	sigTimer    *time.Timer // fires at the userSig's exp (D2)
	graceTimer  *time.Timer // fires at the end of the D2 grace, or of the reconnect grace
}

type queuedNote struct {
	method string
	params any
}

// connSession adapts one WebSocket connection to the Session it currently speaks for: a
// fresh Session before login, possibly an older one after a resume.
type connSession struct {
	svc  *Service
	conn *Conn
	sess *session // read and written only by the connection's dispatch goroutine and HandleClose
}

func (s *Service) newConnSession(c *Conn) SessionHandler {
	cs := &connSession{svc: s, conn: c}
	cs.sess = &session{svc: s, id: randomHex(8), conn: c, adapter: cs}
	return cs
}

// HandleRequest dispatches the request to the session's handlers.
func (cs *connSession) HandleRequest(ctx context.Context, req protocol.Request) (any, error) {
	return cs.svc.dispatcher.Dispatch(ctx, cs.sess, req)
}

// HandleClose keeps a logged-in session for the reconnect grace, then logs it out.
func (cs *connSession) HandleClose() {
	sess := cs.sess
	if !sess.detach(cs.conn) {
		return // not logged in, replaced by a resume, or already ended
	}
	s := cs.svc
	grace := s.cfg.Signaling.ReconnectGrace
	sess.setGraceTimer(s.afterFunc(grace, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if sess.isDetached() {
			s.endSessionLocked(sess, protocol.CancelReasonDisconnect)
		}
	}))
}

// ---- state ----

// UserID is the logged-in user ("" before login).
func (sess *session) UserID() string {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.userID
}

func (sess *session) loggedIn() bool { return sess.UserID() != "" }

// markEnded flips the session to ended once; false if it already was.
func (sess *session) markEnded() bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.ended {
		return false
	}
	sess.ended = true
	sess.backlog = nil
	return true
}

// detach forgets conn if it is the session's connection and the session is logged in and
// not ended; it reports whether the session now waits for a resume.
func (sess *session) detach(conn *Conn) bool {
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
// still open, and flushes what was queued meanwhile.
func (sess *session) attach(cs *connSession) {
	sess.mu.Lock()
	old := sess.conn
	sess.conn = cs.conn
	sess.adapter = cs
	backlog := sess.backlog
	sess.backlog = nil
	grace := sess.graceTimer
	sess.graceTimer = nil
	sess.mu.Unlock()
	cs.sess = sess
	sess.svc.stopTimer(grace)
	if old != nil && old != cs.conn {
		old.Close(closeKicked, "session resumed on another connection")
	}
	for _, n := range backlog {
		_ = cs.conn.Notify(n.method, n.params)
	}
}

// notify sends a notification, or queues it while the socket is gone.
func (sess *session) notify(method string, params any) {
	sess.mu.Lock()
	conn := sess.conn
	if conn == nil {
		if !sess.ended && len(sess.backlog) < backlogLimit {
			sess.backlog = append(sess.backlog, queuedNote{method, params})
		}
		sess.mu.Unlock()
		return
	}
	sess.mu.Unlock()
	err := conn.Notify(method, params)
	switch {
	case err == nil:
	case errors.Is(err, ErrConnClosed):
		// The socket is going away but the session may resume: keep the event for it.
		sess.mu.Lock()
		if !sess.ended && len(sess.backlog) < backlogLimit {
			sess.backlog = append(sess.backlog, queuedNote{method, params})
		}
		sess.mu.Unlock()
	default:
		conn.Logger().Warn("notification dropped", "method", method, "error", err)
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

// enterRoom joins room id (leaving another room first). Joining the room it is in is a
// no-op.
func (sess *session) enterRoom(id room.ID) error {
	sess.mu.Lock()
	current, currentID := sess.participant, sess.roomID
	userID := sess.userID
	sess.mu.Unlock()
	if current != nil {
		if currentID == id {
			return nil
		}
		sess.exitRoom()
	}
	p, err := sess.svc.rooms.Join(id, userID, sess)
	if err != nil {
		return err
	}
	sess.mu.Lock()
	sess.participant, sess.roomID = p, id
	sess.mu.Unlock()
	return nil
}

// exitRoom leaves the session's room, if any.
func (sess *session) exitRoom() {
	sess.mu.Lock()
	p := sess.participant
	sess.participant, sess.roomID = nil, room.ID{}
	sess.mu.Unlock()
	if p != nil {
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
func (sess *session) currentParticipant() (*room.Participant, room.ID, error) {
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
