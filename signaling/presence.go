package signaling

// Presence in a cluster (D100; docs/architecture.md, "Cluster"): the node that holds a
// logged-in WebSocket records it in the user's presence hash in Redis (cluster/presence.go)
// with the node that runs its session; its heartbeat renews it; it is removed when the
// connection logs out or closes. On the front the identity comes from the login it relayed
// (the owner's side of a relayed connection records nothing); on the owner from the session.

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// presenceWriteTimeout bounds one presence write to Redis; a failed write is logged and
// done again by the next heartbeat that reaches Redis.
const presenceWriteTimeout = 2 * time.Second

// presenceNote is what a connection recorded in the presence: the zero value is nothing.
type presenceNote struct {
	app  int
	user string
	conn string // the hash field: this node's id, "/" and 16 hex digits
}

// syncPresence records or removes the connection's presence after a request (the
// connection's dispatch goroutine): it changes when a login succeeded or the connection
// logged out.
func (cs *connSession) syncPresence(ctx context.Context, req protocol.Request, err error) {
	s := cs.svc
	if s.relays.cl == nil || cs.relayed {
		return
	}
	var now presenceNote
	owner := s.relays.cl.ID()
	if cs.front != nil {
		switch {
		case err != nil:
			return
		case req.Method == protocol.MethodLogin:
			var p protocol.LoginParams
			if json.Unmarshal(req.Params, &p) != nil {
				return
			}
			now.app, now.user = p.SDKAppID, p.UserID
			owner = cs.front.owner
		case req.Method != protocol.MethodLogout:
			return
		}
	} else if cs.sess.loggedIn() {
		now.app, now.user = cs.sess.identity()
	}
	if now.app == cs.present.app && now.user == cs.present.user {
		return
	}
	cs.clearPresence(ctx)
	if now.user == "" {
		return
	}
	now.conn = s.relays.cl.ID() + "/" + randomHex(8)
	cs.present = now
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), presenceWriteTimeout)
	defer cancel()
	if err := s.relays.cl.SetPresence(wctx, now.app, now.user, now.conn, owner, s.now()); err != nil {
		cs.conn.Logger().Warn("presence not written yet", "error", err)
	}
}

// clearPresence removes what the connection recorded (a logout, a new identity, the close).
func (cs *connSession) clearPresence(ctx context.Context) {
	was := cs.present
	if was.user == "" {
		return
	}
	cs.present = presenceNote{}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), presenceWriteTimeout)
	defer cancel()
	if err := cs.svc.relays.cl.ClearPresence(wctx, was.app, was.user, was.conn); err != nil {
		cs.conn.Logger().Warn("presence not removed yet", "error", err)
	}
}

// Presence is where (app, userID) is connected: in a cluster the logged-in WebSockets on
// live nodes as Redis holds them (any node answers the same), on a single node the user's
// sessions here that have a connection (Node and Owner empty). A cluster read that fails
// wraps cluster.ErrUnavailable.
func (s *Service) Presence(ctx context.Context, app int, userID string) ([]cluster.Presence, error) {
	if s.relays.cl != nil {
		return s.relays.cl.Presence(ctx, app, userID)
	}
	s.mu.Lock()
	var sessions []*session
	if t := s.tenants[app]; t != nil && t.users[userID] != nil {
		sessions = append(sessions, t.users[userID].sessions...)
	}
	s.mu.Unlock()
	out := make([]cluster.Presence, 0, len(sessions))
	for _, sess := range sessions {
		if !sess.isDetached() {
			out = append(out, cluster.Presence{Conn: sess.id})
		}
	}
	return out, nil
}
