package signaling

// Cluster relay (D50, D52; docs/architecture.md, "Cluster"): every app (tenant) is owned
// by one node, which runs its call machine, its rooms and its sessions. A WebSocket that
// logs in on another node (the front) is relayed to the owner over the nodes' Redis
// inboxes: the front forwards each request and waits for its answer; the owner runs it on
// a session whose wire is the relay (relay_owner.go) and sends back the answer and the
// session's notifications, in the order it produced them. The client keeps one
// WebSocket; its PeerConnections connect to the owner's media address, which the relayed
// SDP carries.

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// Message kinds between nodes.
const (
	kindRequest  = "req"   // front → owner: relayRequest
	kindResponse = "resp"  // owner → front: relayResponse
	kindNote     = "note"  // owner → front: one encoded notification
	kindClose    = "close" // owner → front: relayClose, close the client's WebSocket
	kindGone     = "gone"  // front → owner: the client's WebSocket closed
)

// closeOwnerLost is the WebSocket close code of a relayed connection whose owner node died
// (its calls were ended for the client first): log in again, without a resumeToken.
const closeOwnerLost = 4012

// closeRelayLost closes a relayed connection the owner dropped while its front lived on
// (D165): as a lost keep-alive, so the client reconnects and resumes (its session waits
// for signaling.reconnect_grace).
const closeRelayLost = 1001

// relayRequest and relayResponse carry the number of the request on its connection: an
// answer that comes after its request gave up waiting is dropped, not taken for the next.
type relayRequest struct {
	N      uint64           `json:"n"`
	Remote string           `json:"remote"` // the client's address at the front
	Req    protocol.Request `json:"req"`
}

type relayResponse struct {
	N        uint64          `json:"n"`
	Result   json.RawMessage `json:"result,omitempty"`
	Error    *protocol.Error `json:"error,omitempty"`
	LoggedIn bool            `json:"loggedIn"`
}

type relayClose struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// relays is the Service's part of the cluster: nil cl is a single node.
//
// Concurrency: mu guards the two maps; messages arrive on the cluster's inbox goroutine
// (HandleClusterMessage), which never blocks on a session.
type relays struct {
	cl   *cluster.Cluster
	stop chan struct{} // closed when the Service closes: no more retries (relay_owner.go)

	mu     sync.Mutex
	fronts map[string]*relayFront // this node is the front: by relay key
	backs  map[string]*relayBack  // this node is the owner: by relay key
}

// HandleClusterMessage takes a message from this node's inbox (the cluster.Cluster
// handler). It does not block.
func (s *Service) HandleClusterMessage(m cluster.Message) {
	switch m.Kind {
	case kindRequest:
		s.ownerRequest(m)
	case kindGone:
		s.relays.mu.Lock()
		rb := s.relays.backs[m.Conn]
		s.relays.mu.Unlock()
		if rb != nil && rb.front == m.From {
			rb.gone()
		}
	case kindResponse, kindNote, kindClose:
		s.relays.mu.Lock()
		f := s.relays.fronts[m.Conn]
		s.relays.mu.Unlock()
		if f != nil && f.owner == m.From {
			f.fromOwner(m)
		}
	case kindMediaRequest:
		s.placement.hostRequest(m.From, m.Conn, m.Body)
	case kindMediaResponse:
		s.placement.answered(m.Body)
	case kindMediaSignal:
		s.placement.signalled(m.From, m.Conn, m.Body)
	case kindMediaEvent:
		s.placement.roomEvent(m.From, m.Body)
	default:
		s.log.Warn("cluster message of unknown kind", "kind", m.Kind, "from", m.From)
	}
}

// NodeGone ends what this node relays with a node that died (the cluster.Cluster gone
// callback): as owner, the sessions of that front lose their connection (they end after
// signaling.reconnect_grace, as on a socket loss); as front, the connections to that
// owner hear their calls end and are closed with closeOwnerLost; as owner, the calls and
// rooms placed on it as a media node end (placement.go); as media node, the participants
// it hosted for it as owner leave (media_host.go).
func (s *Service) NodeGone(id string) {
	s.relays.mu.Lock()
	var backs []*relayBack
	for _, rb := range s.relays.backs {
		if rb.front == id {
			backs = append(backs, rb)
		}
	}
	var fronts []*relayFront
	for _, f := range s.relays.fronts {
		if f.owner == id {
			fronts = append(fronts, f)
		}
	}
	s.relays.mu.Unlock()
	for _, rb := range backs {
		rb.gone()
	}
	for _, f := range fronts {
		f.ownerLost()
	}
	s.placement.mediaNodeGone(id) // rooms placed there (placement.go)
	s.placement.ownerGone(id)     // rooms hosted for it (media_host.go)
}

// shutdown stops the retries of messages to other nodes (Service.Close: a closing node
// does not wait for Redis). Idempotent.
func (r *relays) shutdown() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
}

// RelayedConnections counts the connections relayed between this node and others: as
// front (the client's socket is here) and as owner (the session runs here).
func (s *Service) RelayedConnections() (front, owner int) {
	s.relays.mu.Lock()
	defer s.relays.mu.Unlock()
	return len(s.relays.fronts), len(s.relays.backs)
}

// RelayedCalls counts the clients whose WebSocket is here and whose session runs on
// another node (this node is their front) that are in a call, ringing or in progress, as
// the owner's notifications and answers told the front (relayFront.call). A draining
// front waits for these calls as for its own (cmd/parley drain.go, D130): they run on the
// owner, so ActiveCalls does not count them.
func (s *Service) RelayedCalls() int {
	s.relays.mu.Lock()
	fronts := make([]*relayFront, 0, len(s.relays.fronts))
	for _, f := range s.relays.fronts {
		fronts = append(fronts, f)
	}
	s.relays.mu.Unlock()
	n := 0
	for _, f := range fronts {
		f.mu.Lock()
		if f.call.ID != "" && !f.dead {
			n++
		}
		f.mu.Unlock()
	}
	return n
}

// send sends one relay message, bounded by the cluster's timeouts.
func (r *relays) send(to, kind, key string, body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), relaySendTimeout)
	defer cancel()
	return r.cl.Send(ctx, to, cluster.Message{Kind: kind, Conn: key, Body: body})
}

// clusterError is the wire error of a failed cross-node step. Its message names the kind
// of failure only: err's text carries Redis's address ("dial tcp 10.0.0.9:6379: connect:
// connection refused") and node ids, the cluster's insides, which a client (before its
// login has a session) is not told; the nodes log Redis failures themselves.
func clusterError(err error) error {
	why := "the node that serves this request did not answer"
	switch {
	case errors.Is(err, cluster.ErrUnavailable):
		why = "this node cannot reach the cluster's store"
	case errors.Is(err, cluster.ErrNoNode):
		why = "no live node takes this app"
	case errors.Is(err, errOwnerLost):
		why = "the node that owns this app is gone: log in again"
	}
	return protocol.Errorf(protocol.CodeClusterUnavailable, "cluster unavailable: %s; try again", why)
}
