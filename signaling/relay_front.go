package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// relaySendTimeout bounds one message to another node; relayAnswerTimeout the wait for the
// owner's answer to a relayed request (a message lost with a Redis that restarted empty
// must not hold the connection's requests forever).
const (
	relaySendTimeout   = 5 * time.Second
	relayAnswerTimeout = 30 * time.Second
)

// errOwnerLost answers a relayed request whose owner node died.
var errOwnerLost = errors.New("the node that owns this app is gone: log in again")

// relayFront is the front's side of a relayed connection: the client's WebSocket is here,
// its session on node owner.
//
// Concurrency: requests come one at a time from the connection's dispatch goroutine;
// the owner's messages from the inbox goroutine; mu guards the fields below it.
type relayFront struct {
	svc   *Service
	conn  *Conn
	key   string
	owner string
	lost  chan struct{} // closed when the owner died

	mu      sync.Mutex
	n       uint64             // number of the last request sent
	waiting chan relayResponse // the answer to request n, which the dispatch goroutine waits for
	dead    bool               // owner lost or client gone
	call    frontCall          // the client's call as its notifications told it
	ended   string             // the callId of the last call that ended for the client
}

// frontCall is what the front saw of its client's call, to end it when the owner dies.
type frontCall struct {
	ID      string
	Room    protocol.RoomID
	Media   protocol.MediaType
	Role    protocol.Role
	Begun   bool
	Dialing bool
}

// relayTo is the front a request goes through: the existing one, or a new one when this
// is the login of a connection whose app another node owns. nil, nil: handle it here.
func (cs *connSession) relayTo(ctx context.Context, req protocol.Request) (*relayFront, error) {
	s := cs.svc
	if cs.front != nil || s.relays.cl == nil || cs.relayed || req.Method != protocol.MethodLogin || cs.sess.loggedIn() {
		return cs.front, nil
	}
	var p struct {
		SDKAppID int `json:"sdkAppId"`
	}
	if json.Unmarshal(req.Params, &p) != nil {
		return nil, nil // the local login answers the bad params
	}
	s.mu.Lock()
	known := s.tenants[p.SDKAppID] != nil
	s.mu.Unlock()
	if !known || s.Draining() {
		return nil, nil // the local login answers 1004, or 5001 on a draining node
	}
	owner, err := s.relays.cl.Owner(ctx, p.SDKAppID)
	if err != nil {
		return nil, clusterError(err)
	}
	if owner.ID == s.relays.cl.ID() {
		return nil, nil
	}
	conn, ok := cs.conn.(*Conn)
	if !ok {
		return nil, nil
	}
	f := &relayFront{svc: s, conn: conn, key: s.relays.cl.ID() + "/" + randomHex(8), owner: owner.ID, lost: make(chan struct{})}
	s.relays.mu.Lock()
	if s.relays.fronts == nil {
		s.relays.fronts = make(map[string]*relayFront)
	}
	s.relays.fronts[f.key] = f
	s.relays.mu.Unlock()
	cs.front = f
	return f, nil
}

// startsWork reports whether method starts a call or enters a room: what a draining node
// refuses with 5001, for the clients it relays too (D130), though their owner does not
// drain.
func startsWork(method string) bool {
	switch method {
	case protocol.MethodCall, protocol.MethodGroupCall, protocol.MethodCalls, protocol.MethodPrepareCall, protocol.MethodJoinRoom:
		return true
	}
	return false
}

// forward sends req to the owner and returns its answer.
func (f *relayFront) forward(ctx context.Context, req protocol.Request) (any, error) {
	if f.svc.Draining() && startsWork(req.Method) {
		return nil, protocol.NewError(protocol.CodeServerDraining, "the server is shutting down")
	}
	ch := make(chan relayResponse, 1)
	f.mu.Lock()
	if f.dead {
		f.mu.Unlock()
		return nil, clusterError(errOwnerLost)
	}
	f.n++
	n := f.n
	f.waiting = ch
	f.mu.Unlock()
	body, err := json.Marshal(relayRequest{N: n, Remote: f.conn.RemoteAddr(), Req: req})
	if err != nil {
		return nil, err
	}
	if err := f.svc.relays.send(f.owner, kindRequest, f.key, body); err != nil {
		return nil, clusterError(err)
	}
	timeout := time.NewTimer(relayAnswerTimeout)
	defer timeout.Stop()
	select {
	case <-timeout.C:
		return nil, clusterError(fmt.Errorf("no answer from node %s within %v", f.owner, relayAnswerTimeout))
	case r := <-ch:
		f.conn.SetLoggedIn(r.LoggedIn)
		if r.Error != nil {
			return nil, r.Error
		}
		f.sawResult(req, r.Result)
		return r.Result, nil
	case <-f.lost:
		return nil, clusterError(errOwnerLost)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fromOwner takes one message of the owner (inbox goroutine; never blocks).
func (f *relayFront) fromOwner(m cluster.Message) {
	switch m.Kind {
	case kindResponse:
		var r relayResponse
		if err := json.Unmarshal(m.Body, &r); err != nil {
			r = relayResponse{Error: protocol.NewError(protocol.CodeInternalError, "")}
		}
		f.mu.Lock()
		ch := f.waiting
		if r.N == f.n {
			f.waiting = nil
		} else {
			ch = nil // the answer to a request that gave up waiting
		}
		f.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	case kindNote:
		f.sawNote(m.Body)
		_ = f.conn.enqueue(m.Body)
	case kindClose:
		var c relayClose
		_ = json.Unmarshal(m.Body, &c)
		f.conn.Close(c.Code, c.Reason)
	}
}

// clientGone tells the owner the client's WebSocket closed (HandleClose).
func (f *relayFront) clientGone() {
	f.svc.relays.mu.Lock()
	delete(f.svc.relays.fronts, f.key)
	f.svc.relays.mu.Unlock()
	f.mu.Lock()
	dead := f.dead
	f.dead = true
	f.mu.Unlock()
	if !dead {
		if err := f.svc.relays.send(f.owner, kindGone, f.key, nil); err != nil {
			f.svc.log.Debug("relay gone not sent", "relay", f.key, "error", err)
		}
	}
}

// ownerLost ends the client's call (it died with its owner: onCallEnd, or onCallCancelled
// with reason "disconnect") and closes the WebSocket with closeOwnerLost.
func (f *relayFront) ownerLost() {
	f.mu.Lock()
	if f.dead {
		f.mu.Unlock()
		return
	}
	f.dead = true
	c := f.call
	f.mu.Unlock()
	close(f.lost)
	switch {
	case c.ID == "":
	case c.Begun:
		f.notify(protocol.EventCallEnd, protocol.CallEndEvent{CallID: c.ID, RoomID: c.Room, MediaType: c.Media, Role: c.Role})
	default:
		f.notify(protocol.EventCallCancelled, protocol.CallCancelledEvent{CallID: c.ID, RoomID: c.Room, MediaType: c.Media,
			Role: c.Role, Reason: protocol.CancelReasonDisconnect})
	}
	f.conn.Close(closeOwnerLost, "the node that ran this session is gone: log in again")
}

func (f *relayFront) notify(method string, params any) {
	if b, err := protocol.EncodeNotification(method, params, 0); err == nil {
		_ = f.conn.enqueue(b)
	}
}

// sawNote follows the client's call in the notifications the owner sends it.
func (f *relayFront) sawNote(frame []byte) {
	var n struct {
		Method string `json:"method"`
		Params struct {
			CallID    string             `json:"callId"`
			RoomID    protocol.RoomID    `json:"roomId"`
			MediaType protocol.MediaType `json:"mediaType"`
			Role      protocol.Role      `json:"role"`
		} `json:"params"`
	}
	switch {
	case json.Unmarshal(frame, &n) != nil:
		return
	case n.Method == protocol.EventCallReceived, n.Method == protocol.EventCallBegin:
		f.mu.Lock()
		if n.Method == protocol.EventCallBegin || f.call.ID != n.Params.CallID {
			p := n.Params
			f.call = frontCall{ID: p.CallID, Room: p.RoomID, Media: p.MediaType, Role: p.Role, Begun: n.Method == protocol.EventCallBegin}
		}
		f.mu.Unlock()
	case n.Method == protocol.EventCallEnd, n.Method == protocol.EventCallCancelled:
		f.mu.Lock()
		if f.call.ID == n.Params.CallID {
			f.call = frontCall{}
		}
		f.ended = n.Params.CallID
		f.mu.Unlock()
	}
}

// sawResult notes the call a call/groupCall/calls request started (the caller dials it).
func (f *relayFront) sawResult(req protocol.Request, result json.RawMessage) {
	switch req.Method {
	case protocol.MethodCall, protocol.MethodGroupCall, protocol.MethodCalls:
	default:
		return
	}
	var r protocol.CallStartResult
	var p struct {
		MediaType protocol.MediaType `json:"mediaType"`
	}
	if json.Unmarshal(result, &r) != nil || json.Unmarshal(req.Params, &p) != nil {
		return
	}
	f.mu.Lock()
	if !f.call.Begun && f.ended != r.CallID {
		f.call = frontCall{ID: r.CallID, Room: r.RoomID, Media: p.MediaType, Role: protocol.RoleCaller, Dialing: true}
	}
	f.mu.Unlock()
}
