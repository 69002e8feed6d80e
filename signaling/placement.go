package signaling

// Per-room media placement (D95; docs/architecture.md, "cluster"). With
// cluster.room_placement "load" the owner of an app keeps its call machine and sessions,
// but each room lives on the media node chosen when the room is created (the least loaded
// live node, in the region of its first user's node: cluster.PlaceRoom). A session whose
// room is on another node holds a remoteParticipant (room_remote.go): each of its media requests (offer,
// answer, trickle, views, mute, activate, leave) goes to the media node's inbox and
// waits for the answer; the media node (media_host.go) runs them on a room.Participant of
// its own room.Manager and sends back the participant's subscriber offers and candidates
// and the room's events, which the owner hands to its roomListener as if the room were
// local. The client keeps its one WebSocket; its PeerConnections connect to the media
// node's address, which the SDP and candidates carry.

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// Message kinds of per-room placement.
const (
	kindMediaRequest  = "mreq"  // owner → media node: mediaRequest
	kindMediaResponse = "mresp" // media node → owner: mediaResponse
	kindMediaSignal   = "msig"  // media node → owner: mediaSignal (the participant's negotiation)
	kindMediaEvent    = "mev"   // media node → owner: mediaEvent (room.Listener)
)

// Operations of a mediaRequest.
const (
	opJoin      = "join"
	opOffer     = "offer"
	opAnswer    = "answer"
	opCandidate = "candidate"
	opView      = "view"
	opUnview    = "unview"
	opQuality   = "quality"
	opMute      = "mute"
	opActivate  = "activate"
	opLeave     = "leave"
)

// errClusterSend marks a request that did not reach the media node's inbox.
var errClusterSend = errors.New("media request not sent")

// errMediaNodeLost answers a request to a participant whose media node died.
var errMediaNodeLost = fmt.Errorf("the media node of this room is gone: %w", room.ErrParticipantLeft)

// wireRoom is a room.ID with its app (the JSON form of room.ID carries none).
type wireRoom struct {
	App int     `json:"app"`
	ID  room.ID `json:"id"`
}

func toWireRoom(id room.ID) wireRoom { return wireRoom{App: id.App(), ID: id.WithoutApp()} }
func (w wireRoom) id() room.ID       { return w.ID.InApp(w.App) }

// mediaRequest is one call of a remote participant's method.
type mediaRequest struct {
	N      uint64                   `json:"n"`
	Op     string                   `json:"op"`
	Room   *wireRoom                `json:"room,omitempty"` // join
	User   string                   `json:"user,omitempty"` // join: the participant; views: the publisher
	Opts   *room.JoinOptions        `json:"opts,omitempty"` // join
	SDP    string                   `json:"sdp,omitempty"`
	Target room.Target              `json:"target,omitempty"`
	Cand   *webrtc.ICECandidateInit `json:"cand,omitempty"`
	Width  int                      `json:"w,omitempty"`
	Height int                      `json:"h,omitempty"`
	Kind   room.TrackKind           `json:"kind,omitempty"`
	Muted  bool                     `json:"muted,omitempty"`
	Call   string                   `json:"call,omitempty"` // record, unrecord
}

// mediaResponse answers a mediaRequest; Err names the sentinel error (mediaErrors).
type mediaResponse struct {
	N     uint64                 `json:"n"`
	SDP   string                 `json:"sdp,omitempty"`
	Err   string                 `json:"err,omitempty"`
	Msg   string                 `json:"msg,omitempty"`
	Infos []room.ParticipantInfo `json:"infos,omitempty"` // the room's members after a join or leave
	Recs  json.RawMessage        `json:"recs,omitempty"`  // recordings: the node's list
}

// mediaSignal is a server offer (SDP set) or candidate of a remote participant.
type mediaSignal struct {
	SDP    string                   `json:"sdp,omitempty"`
	Target room.Target              `json:"target,omitempty"`
	Cand   *webrtc.ICECandidateInit `json:"cand,omitempty"`
}

// Events of a mediaEvent, one per room.Listener method.
const (
	evJoined      = "joined"
	evLeft        = "left"
	evPublished   = "published"
	evUnpublished = "unpublished"
	evMuted       = "muted"
	evClosed      = "closed"
	evVolumes     = "volumes"
	evQuality     = "quality"
	evLayers      = "layers"
)

// mediaEvent is one room.Listener call of a room on a media node; Infos is the room's
// members as the event goroutine saw them (membership and track events).
type mediaEvent struct {
	Room    wireRoom               `json:"room"`
	Ev      string                 `json:"ev"`
	User    string                 `json:"user,omitempty"`
	Kind    room.TrackKind         `json:"kind,omitempty"`
	Muted   bool                   `json:"muted,omitempty"`
	Volumes map[string]int         `json:"volumes,omitempty"`
	Quality []room.UserQuality     `json:"quality,omitempty"`
	Layers  []room.PublishLayer    `json:"layers,omitempty"`
	Infos   []room.ParticipantInfo `json:"infos,omitempty"`
}

// placement is the Service's share of per-room placement: as owner, where each room it
// joined users to lives and its remote participants; as media node, the participants it
// hosts for owners (media_host.go).
//
// Concurrency: mu guards every map; it is taken after Service.mu (roomMembers), never
// before it, and never held while sending.
type placement struct {
	s *Service

	mu       sync.Mutex
	rooms    map[room.ID]*placedRoom       // owner: rooms with members joined through this node
	parts    map[string]*remoteParticipant // owner: by key
	calls    map[uint64]chan mediaResponse // owner: requests waiting for their answer
	n        uint64                        // owner: number of the last request
	hosted   map[string]*hostedParticipant // media node: by key
	hrooms   map[room.ID]*hostedRoom       // media node: rooms with hosted participants
	outs     map[string]*serial            // messages to each node, in order (toNode)
	recorded map[room.ID]string            // media node: rooms recorded for a call, by owner (D124)
	total    uint64                        // media node: participants ever hosted
	placed   uint64                        // owner: rooms placed by load (PlacementStats)
	leaves   serial                        // owner: leaves retried while Redis is unreachable
	onPlaced func(room.ID, string)         // owner: Deps.RoomPlaced (set before use)
}

// PlacementStats is what per-room placement (D95) holds now.
type PlacementStats struct {
	Remote      int    // participants of this node's sessions in rooms on other nodes
	Hosted      int    // participants this node hosts for sessions of other nodes
	HostedTotal uint64 // participants this node ever hosted
	Unplaced    int    // call rooms with members whose media nobody negotiated yet (D187)
	Placed      uint64 // rooms this owner ever placed by load (cluster.PlaceRoom)
}

// PlacementStats reads the counts (metrics, tests).
func (s *Service) PlacementStats() PlacementStats {
	pl := &s.placement
	pl.mu.Lock()
	defer pl.mu.Unlock()
	unplaced := 0
	for _, r := range pl.rooms {
		if r.unplaced {
			unplaced++
		}
	}
	return PlacementStats{Remote: len(pl.parts), Hosted: len(pl.hosted), HostedTotal: pl.total,
		Unplaced: unplaced, Placed: pl.placed}
}

// placedRoom is where a room lives and how many members this owner joined to it.
type placedRoom struct {
	node    string // "" on this node
	members int
	infos   []room.ParticipantInfo // remote: its members as last reported
	// unplaced: a call's room whose members wait for the first media request to place it
	// (placement_defer.go, D187); waiting are the members that joined it so, in join
	// order (kept after the placement until each leaves).
	unplaced bool
	waiting  []*deferredParticipant
}

// place says where room id lives for a join by sess: node is "" for this node; placed
// reports that the join is counted in the room's placement (release it when the member
// leaves or the join fails). In a cluster with room placement on, a room nobody joined
// yet through this owner (and not open here) goes to cluster.PlaceRoom in the region of
// sess's front; its later members follow it there. A call's room whose members wait
// for media (D187) is placed now, and settle lists those members: the caller joins them
// there (materialize), in their order, before sess's member.
func (pl *placement) place(id room.ID, sess *session) (node string, placed bool, settle []*deferredParticipant) {
	cl := pl.s.relays.cl
	if cl == nil || !cl.PlacesRooms() {
		return "", false, nil
	}
	region := pl.regionOf(sess)
	pl.mu.Lock()
	r := pl.rooms[id]
	fresh := r == nil || r.unplaced
	if r == nil {
		r = &placedRoom{}
		if pl.rooms == nil {
			pl.rooms = make(map[room.ID]*placedRoom)
		}
		pl.rooms[id] = r
	}
	if fresh {
		settle = pl.settleLocked(id, r, region)
	}
	r.members++
	node = r.node
	pl.mu.Unlock()
	if fresh && node != "" && pl.onPlaced != nil {
		pl.onPlaced(id, node)
	}
	return node, true, settle
}

// settleLocked gives room r (new, or waiting for media) its place: here when it is open
// here, else cluster.PlaceRoom's node in region; it returns the members that waited for
// it (D187). Called with pl.mu held.
func (pl *placement) settleLocked(id room.ID, r *placedRoom, region string) []*deferredParticipant {
	cl := pl.s.relays.cl
	r.unplaced = false
	if _, open := pl.s.rooms.Room(id); !open {
		if n, ok := cl.PlaceRoom(region); ok {
			pl.placed++
			if n.ID != cl.ID() {
				r.node = n.ID
			}
		}
	}
	return append([]*deferredParticipant(nil), r.waiting...)
}

// regionOf is the region of the node that holds sess's client socket (placement prefers
// it, D95).
func (pl *placement) regionOf(sess *session) string {
	cl := pl.s.relays.cl
	region := cl.Region()
	if sess == nil {
		return region
	}
	if front := sess.frontNode(); front != "" {
		if n, ok := cl.Node(front); ok {
			region = n.Region
		}
	}
	return region
}

// release forgets one member placed in room id (its join failed or it left).
func (pl *placement) release(id room.ID) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if r := pl.rooms[id]; r != nil {
		r.members--
		if r.members <= 0 {
			delete(pl.rooms, id)
		}
	}
}

// members is the membership of remote room id as last reported, or of a call's room
// waiting for media (D187); false for a room that is on this node or unknown.
func (pl *placement) members(id room.ID) ([]room.ParticipantInfo, bool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	r := pl.rooms[id]
	switch {
	case r != nil && r.unplaced: // its members as they joined: nothing published (D187)
		infos := make([]room.ParticipantInfo, 0, len(r.waiting))
		for _, dp := range r.waiting {
			infos = append(infos, room.ParticipantInfo{UserID: dp.userID})
		}
		return infos, true
	case r == nil || r.node == "":
		return nil, false
	}
	return r.infos, true
}

// noteMembers keeps the membership of remote room id that node reported.
func (pl *placement) noteMembers(id room.ID, node string, infos []room.ParticipantInfo) {
	if infos == nil {
		return
	}
	pl.mu.Lock()
	if r := pl.rooms[id]; r != nil && r.node == node {
		r.infos = infos
	}
	pl.mu.Unlock()
}

// frontNode is the node that holds the session's client socket: "" when this node does.
func (sess *session) frontNode() string {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if rb, ok := sess.conn.(*relayBack); ok {
		return rb.front
	}
	return ""
}

// signalled hands a media node's offer or candidate to the participant's session (inbox
// goroutine; sess.notify never blocks).
func (pl *placement) signalled(from, key string, body []byte) {
	pl.mu.Lock()
	rp := pl.parts[key]
	pl.mu.Unlock()
	var sig mediaSignal
	if rp == nil || rp.node != from || json.Unmarshal(body, &sig) != nil {
		return
	}
	if sig.Cand != nil {
		rp.sess.SendCandidate(sig.Target, *sig.Cand)
		return
	}
	rp.sess.SendSubscriberOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sig.SDP})
}

// roomEvent hands a remote room's event to the Service's listener as a local room's
// (inbox goroutine; the listener takes Service.mu briefly and only queues).
func (pl *placement) roomEvent(from string, body []byte) {
	var ev mediaEvent
	if json.Unmarshal(body, &ev) != nil {
		return
	}
	id := ev.Room.id()
	pl.mu.Lock()
	r := pl.rooms[id]
	pl.mu.Unlock()
	switch {
	case r != nil && r.node == from:
	case r == nil && (ev.Ev == evLeft || ev.Ev == evClosed):
		// Late events of a room its members all left: onUserLeave still goes to those
		// present, as on one node (the sides of an ended call heard it already, D240).
	default:
		return // a room placed elsewhere since, or never through this node
	}
	pl.noteMembers(id, from, ev.Infos)
	l := roomListener{pl.s}
	switch ev.Ev {
	case evJoined:
		pl.adoptIngest(id, ev.User)
		l.ParticipantJoined(id, ev.User)
	case evLeft:
		l.ParticipantLeft(id, ev.User)
		if r != nil {
			pl.dropIngest(id, ev.User)
		}
	case evPublished:
		l.TrackPublished(id, ev.User, ev.Kind)
	case evUnpublished:
		l.TrackUnpublished(id, ev.User, ev.Kind)
	case evMuted:
		l.TrackMuted(id, ev.User, ev.Kind, ev.Muted)
	case evClosed:
		if r == nil {
			l.RoomClosed(id)
		}
	case evVolumes:
		l.VoiceVolumes(id, ev.Volumes)
	case evQuality:
		l.NetworkQuality(id, ev.Quality)
	case evLayers:
		l.PublishLayersChanged(id, ev.User, ev.Layers)
	}
}

// adoptIngest makes a member of remote room id that joined without a session of this
// owner — a WHIP publisher served on the media node (D119) — an ingest session here, so
// the room's events about it reach the others as on one node (whip_session.go), and it
// counts as a member of the room's placement: a session joining while it publishes
// follows the room to its node.
func (pl *placement) adoptIngest(id room.ID, userID string) {
	s := pl.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessionInRoomLocked(id, userID) != nil {
		return
	}
	s.setIngestLocked(id, userID, s.ingestSession(id.App(), userID))
	pl.mu.Lock()
	if r := pl.rooms[id]; r != nil {
		r.members++ // the room stays placed while the publisher is in it
	}
	pl.mu.Unlock()
}

// dropIngest forgets the adopted WHIP publisher userID of remote room id once it left.
func (pl *placement) dropIngest(id room.ID, userID string) {
	s := pl.s
	s.mu.Lock()
	_, adopted := s.ingest[id][userID]
	delete(s.ingest[id], userID)
	if len(s.ingest[id]) == 0 {
		delete(s.ingest, id)
	}
	s.mu.Unlock()
	if adopted {
		pl.release(id)
	}
}

// mediaNodeGone ends what lived on media node id (NodeGone): its participants' requests
// fail at once; each user whose call is in one of its rooms leaves the call as on a lost
// connection (call.Machine.Disconnect: onCallEnd, or onCallCancelled "disconnect" for a
// call not yet begun); each user present in its rooms hears every other one leave
// (onUserLeave), and every session is out of its room (the next media request answers
// 4002 not in room; joinRoom places the room anew).
func (pl *placement) mediaNodeGone(node string) {
	s := pl.s
	pl.mu.Lock()
	var lost []*remoteParticipant
	for _, rp := range pl.parts {
		if rp.node == node {
			lost = append(lost, rp)
			delete(pl.parts, rp.key) // its room's place is dropped below, not released
		}
	}
	var rooms []room.ID
	var members []lostMember
	for id, r := range pl.rooms {
		if r.node == node {
			rooms = append(rooms, id)
			delete(pl.rooms, id)
			for _, dp := range r.waiting { // members that joined before media (D187)
				members = append(members, lostMember{dp.sess, dp, id})
			}
		}
	}
	pl.mu.Unlock()
	if len(lost) == 0 && len(rooms) == 0 {
		return
	}
	s.log.Warn("media node gone: ending the calls and rooms it held", "node", node, "rooms", len(rooms), "participants", len(lost))
	for _, rp := range lost {
		rp.mu.Lock()
		rp.gone = true
		rp.mu.Unlock()
		close(rp.lost)
		members = append(members, lostMember{rp.sess, rp, rp.id})
	}
	s.mu.Lock()
	for _, m := range members {
		u := s.userLocked(m.sess)
		if u == nil {
			continue
		}
		t := u.tenant
		st := t.machine.UserState(u.id)
		if snap, ok := t.machine.Snapshot(st.CallID); ok && st.State != call.Idle && snap.RoomID == roomIDToWire(m.id) {
			if out, err := t.machine.Disconnect(s.now(), u.id, protocol.CancelReasonDisconnect); err == nil {
				s.executeLocked(t, out, m.sess)
			}
		}
		sess, held := m.sess, m.held
		sess.later(func() {
			if sess.holds(held) {
				sess.exitRoom()
			}
		})
	}
	for _, id := range rooms { // everyone present hears everyone else leave
		present := s.present[id]
		for userID, sess := range present {
			for other := range present {
				if other != userID {
					sess.post(protocol.EventUserLeave, protocol.UserLeaveEvent{UserID: other, RoomID: roomIDToWire(id)})
				}
			}
		}
		delete(s.present, id)
		delete(s.volumesSent, id)
		delete(s.ingest, id)
	}
	s.mu.Unlock()
}

// lostMember is a session whose member of room id (held) was on a media node that died.
type lostMember struct {
	sess *session
	held participant
	id   room.ID
}

// holds reports whether p is the session's participant, or the one its deferred member
// joined (D187).
func (sess *session) holds(p participant) bool {
	sess.mu.Lock()
	cur := sess.participant
	sess.mu.Unlock()
	if cur == p {
		return true
	}
	dp, ok := cur.(*deferredParticipant)
	return ok && dp.current() == p
}
