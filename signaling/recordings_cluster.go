package signaling

// Recordings in a cluster (D124, D125; the recorder itself is ops/recording, wired by
// cmd/parley). A recording runs where its room's media are. Over the placement messages
// (mreq, mresp: placement.go) the app's owner asks a room's media node to record a call
// placed there (recording.calls) and to stop at its end, and any node asks every other
// one for its recordings (the admin API's list); a recording's id names its node, so
// stop and downloads are redirected there (RouteNode).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/parley-rtc/parley/room"
)

// Operations of a mediaRequest about the node rather than one participant (key "").
const (
	opRecord     = "record"     // owner → media node: record the room for a call (Room, Call)
	opUnrecord   = "unrecord"   // owner → media node: the call ended (Room, Call)
	opRecordings = "recordings" // any node → any node: answer the list of your recordings (Recs)
)

// ClusterRecorder is this node's recorder as the other nodes of a cluster reach it.
type ClusterRecorder interface {
	// RecordCall hears that call callID of owner, in room id, which the owner placed on
	// this node, began (on) or ended (or the owner died: callID ""). It is called on the
	// inbox goroutine and must not block.
	RecordCall(owner, callID string, id room.ID, on bool)
	// Recordings is the JSON list of this node's recordings, for another node's list.
	Recordings() json.RawMessage
}

// RecordCallOn asks media node node to record room id for call callID (on), or to stop
// (the app's owner with recording.calls, D124). The requests to a node go in order,
// retried while Redis is unreachable (D53); it never blocks. One that cannot be delivered
// (the node died) is logged: the node's recording ended with it.
func (s *Service) RecordCallOn(node, callID string, id room.ID, on bool) {
	if s.relays.cl == nil {
		return
	}
	op := opUnrecord
	if on {
		op = opRecord
	}
	wr := toWireRoom(id)
	s.placement.toNode(node, kindMediaRequest, "", func() any { return mediaRequest{Op: op, Room: &wr, Call: callID} },
		func(err error) {
			s.log.Warn("call recording request not delivered", "node", node, "call", callID, "room", id.String(), "record", on, "error", err)
		})
}

// ClusterRecordings asks every other live node for its recordings (the JSON of its
// ClusterRecorder.Recordings, by node id) and names the nodes that did not answer
// before ctx ended. Nothing on a single node.
func (s *Service) ClusterRecordings(ctx context.Context) (map[string]json.RawMessage, []string) {
	cl := s.relays.cl
	out := map[string]json.RawMessage{}
	if cl == nil {
		return out, nil
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		missing []string
	)
	for _, n := range cl.Nodes() {
		if n.ID == cl.ID() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.placement.request(ctx, n.ID, "", mediaRequest{Op: opRecordings}, nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				s.log.Info("recordings of a node not read", "node", n.ID, "error", err)
				missing = append(missing, n.ID)
				return
			}
			out[n.ID] = r.Recs
		}()
	}
	wg.Wait()
	return out, missing
}

// RouteNode says where an HTTP request about something that lives on node (a recording,
// whose id names its node, D125) is served: "" here (node is this one or empty, or a
// single node), else the same request's URL on that node, to answer with 307; an error
// with its HTTP status when node is not a live node of the cluster.
func (s *Service) RouteNode(node string, r *http.Request) (string, int, error) {
	cl := s.relays.cl
	if cl == nil || node == "" || node == cl.ID() {
		return "", 0, nil
	}
	n, ok := cl.Node(node)
	if !ok {
		return "", http.StatusNotFound, fmt.Errorf("cluster: node %s is not live (its recordings' files stay in its recording.dir)", node)
	}
	base, err := httpBase(n.SignalingURL)
	if err != nil {
		return "", http.StatusServiceUnavailable, fmt.Errorf("cluster: %w", err)
	}
	return base + r.URL.RequestURI(), 0, nil
}

// hostNodeRequest runs a request about this node rather than a participant (inbox
// goroutine: the recorder only queues, the list is read on the sending queue).
func (pl *placement) hostNodeRequest(from string, req mediaRequest) {
	rec := pl.s.recorder
	switch req.Op {
	case opRecordings:
		pl.toNode(from, kindMediaResponse, "", func() any {
			r := mediaResponse{N: req.N, Recs: json.RawMessage("[]")}
			if rec != nil {
				r.Recs = rec.Recordings()
			}
			return r
		}, nil)
	case opRecord, opUnrecord:
		if rec == nil || req.Room == nil {
			return
		}
		id := req.Room.id()
		on := req.Op == opRecord
		pl.mu.Lock()
		switch {
		case on:
			if pl.recorded == nil {
				pl.recorded = make(map[room.ID]string)
			}
			pl.recorded[id] = from
		case pl.recorded[id] == from:
			delete(pl.recorded, id)
		}
		pl.mu.Unlock()
		rec.RecordCall(from, req.Call, id, on)
	}
}

// unrecordOwner stops the call recordings this node runs for owner, which died: no
// call end will come from it (ownerGone).
func (pl *placement) unrecordOwner(owner string) {
	rec := pl.s.recorder
	pl.mu.Lock()
	var ids []room.ID
	for id, o := range pl.recorded {
		if o == owner {
			ids = append(ids, id)
			delete(pl.recorded, id)
		}
	}
	pl.mu.Unlock()
	for _, id := range ids {
		rec.RecordCall(owner, "", id, false)
	}
}
