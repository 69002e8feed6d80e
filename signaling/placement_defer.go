package signaling

// A call's room placed at its first media request (D187). With cluster.room_placement
// "load" (D95, D126) the owner joined a call's members to a media node at the call's
// begin: one placement and one Redis round trip per member, even for a call whose
// members never negotiate (signaling-only apps, calls hung up before media). Now a call
// member's join to a room that placement would place by load only counts the member in
// the room's placedRoom (unplaced, waiting); its session holds a deferredParticipant.
// The first request of any member that needs the room — an offer, a trickle, an answer,
// a remote view, a mute, an activation — places the room (placement.settleLocked, under
// placement.mu, so two members' first requests on two fronts, both run here on the
// owner, give one place) and joins every waiting member there in join order; later
// members join the placed room directly. A leave before that only uncounts the member.
//
// Nothing a client sees depends on it: a room reports a member (ParticipantJoined,
// onUserJoin) only once its PeerConnection connected, so an unplaced room has nothing to
// report, and its members are joined before any media request of theirs runs.

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/room"
)

// deferredParticipant is a call member of a room that waited for media: its first
// request (or another member's) joins it where the room is placed, and every request
// then goes to that participant.
type deferredParticipant struct {
	pl     *placement
	id     room.ID
	userID string
	opts   room.JoinOptions
	sess   *session
	r      *placedRoom // the placement it counts in (set by wait, fixed)

	mu      sync.Mutex
	p       participant   // joined (nil before)
	joining chan struct{} // a join under way (closed when it ended)
	left    bool
}

// wait counts dp in its room's placement when the room waits for media, creating the
// wait for a room that would be placed by load; false when the room has a place (or is
// open here, or the cluster does not place rooms): dp is not used then.
// room.ErrAlreadyInRoom when the user waits in that room already.
func (pl *placement) wait(dp *deferredParticipant) (bool, error) {
	cl := pl.s.relays.cl
	if cl == nil || !cl.PlacesRooms() {
		return false, nil
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	r := pl.rooms[dp.id]
	if r == nil {
		if _, open := pl.s.rooms.Room(dp.id); open {
			return false, nil
		}
		r = &placedRoom{unplaced: true}
		if pl.rooms == nil {
			pl.rooms = make(map[room.ID]*placedRoom)
		}
		pl.rooms[dp.id] = r
	}
	if !r.unplaced {
		return false, nil
	}
	for _, w := range r.waiting {
		if w.userID == dp.userID {
			return false, fmt.Errorf("join room %s as %q: %w", dp.id, dp.userID, room.ErrAlreadyInRoom)
		}
	}
	r.waiting = append(r.waiting, dp)
	r.members++
	dp.r = r
	return true, nil
}

// settle places dp's room if it still waits (in the region of dp's front) and returns
// the members that waited, in join order; nil when it had a place already. An error
// when the room's media node died meanwhile (the owner dropped the room, D96).
func (pl *placement) settle(dp *deferredParticipant) ([]*deferredParticipant, error) {
	region := pl.regionOf(dp.sess)
	pl.mu.Lock()
	r := dp.r
	if pl.rooms[dp.id] != r {
		pl.mu.Unlock()
		return nil, errMediaNodeLost
	}
	if !r.unplaced {
		pl.mu.Unlock()
		return nil, nil
	}
	waiting := pl.settleLocked(dp.id, r, region)
	node := r.node
	pl.mu.Unlock()
	if node != "" && pl.onPlaced != nil {
		pl.onPlaced(dp.id, node)
	}
	return waiting, nil
}

// settleRoom places room id if it waits for media, and joins its members there: a WHIP
// or WHEP offer or a recording for the room reached the owner (RouteHTTP), which must
// not open a second room of the same RoomId here.
func (pl *placement) settleRoom(id room.ID) {
	pl.mu.Lock()
	r := pl.rooms[id]
	if r == nil || !r.unplaced {
		pl.mu.Unlock()
		return
	}
	waiting := pl.settleLocked(id, r, pl.s.relays.cl.Region())
	node := r.node
	pl.mu.Unlock()
	if node != "" && pl.onPlaced != nil {
		pl.onPlaced(id, node)
	}
	pl.materialize(waiting)
}

// materialize joins the members that waited where their room is now, in order; a
// member whose join fails tries again at its next request.
func (pl *placement) materialize(waiting []*deferredParticipant) {
	for _, dp := range waiting {
		if _, err := dp.join(); err != nil && !dp.hasLeft() {
			pl.s.log.Info("call member not joined where its room was placed", "room", dp.id.String(), "user", dp.userID, "error", err)
		}
	}
}

// current is the participant dp joined, nil before.
func (dp *deferredParticipant) current() participant {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	return dp.p
}

func (dp *deferredParticipant) hasLeft() bool {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	return dp.left
}

// get is the joined participant for a request: the room is placed first if it still
// waits, with every waiting member (this one among them, in join order).
func (dp *deferredParticipant) get() (participant, error) {
	if p := dp.current(); p != nil {
		return p, nil
	}
	waiting, err := dp.pl.settle(dp)
	if err != nil {
		return nil, err
	}
	dp.pl.materialize(waiting)
	return dp.join()
}

// join joins dp where its room is placed, once: a join under way is waited for.
func (dp *deferredParticipant) join() (participant, error) {
	for {
		dp.mu.Lock()
		switch {
		case dp.left:
			dp.mu.Unlock()
			return nil, fmt.Errorf("%q in room %s: %w", dp.userID, dp.id, room.ErrParticipantLeft)
		case dp.p != nil:
			p := dp.p
			dp.mu.Unlock()
			return p, nil
		case dp.joining != nil:
			ch := dp.joining
			dp.mu.Unlock()
			<-ch
			continue
		}
		done := make(chan struct{})
		dp.joining = done
		dp.mu.Unlock()
		p, err := dp.joinPlaced()
		dp.mu.Lock()
		dp.joining = nil
		if err == nil {
			dp.p = p // a Leave waiting for done leaves it
		}
		dp.mu.Unlock()
		close(done)
		return p, err
	}
}

// joinPlaced joins the member to its room where it is placed, counted as a member of
// that placement (the participant releases it).
func (dp *deferredParticipant) joinPlaced() (participant, error) {
	pl := dp.pl
	pl.mu.Lock()
	r := dp.r
	if pl.rooms[dp.id] != r || r.unplaced {
		pl.mu.Unlock()
		return nil, errMediaNodeLost
	}
	r.members++
	node := r.node
	pl.mu.Unlock()
	return pl.s.joinAt(node, dp.id, dp.userID, dp.opts, dp.sess, true)
}

// Leave leaves the room it joined, if it did, and uncounts the member.
func (dp *deferredParticipant) Leave() error {
	dp.mu.Lock()
	if dp.left {
		dp.mu.Unlock()
		return nil
	}
	dp.left = true
	joining := dp.joining
	dp.mu.Unlock()
	if joining != nil {
		<-joining
	}
	var err error
	if p := dp.current(); p != nil {
		err = p.Leave()
	}
	pl := dp.pl
	pl.mu.Lock()
	r := dp.r
	for i, w := range r.waiting {
		if w == dp {
			r.waiting = append(r.waiting[:i:i], r.waiting[i+1:]...)
			break
		}
	}
	if pl.rooms[dp.id] == r {
		r.members--
		if r.members <= 0 {
			delete(pl.rooms, dp.id)
		}
	}
	pl.mu.Unlock()
	return err
}

func (dp *deferredParticipant) UserID() string { return dp.userID }

func (dp *deferredParticipant) HandlePublisherOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	p, err := dp.get()
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	return p.HandlePublisherOffer(offer)
}

func (dp *deferredParticipant) HandleSubscriberAnswer(answer webrtc.SessionDescription) error {
	p, err := dp.get()
	if err != nil {
		return err
	}
	return p.HandleSubscriberAnswer(answer)
}

func (dp *deferredParticipant) AddICECandidate(target room.Target, c webrtc.ICECandidateInit) error {
	p, err := dp.get()
	if err != nil {
		return err
	}
	return p.AddICECandidate(target, c)
}

func (dp *deferredParticipant) StartRemoteView(publisher string) error {
	p, err := dp.get()
	if err != nil {
		return err
	}
	return p.StartRemoteView(publisher)
}

func (dp *deferredParticipant) StopRemoteView(publisher string) error {
	p, err := dp.get()
	if err != nil {
		return err
	}
	return p.StopRemoteView(publisher)
}

func (dp *deferredParticipant) SetRemoteViewQuality(publisher string, width, height int) error {
	p, err := dp.get()
	if err != nil {
		return err
	}
	return p.SetRemoteViewQuality(publisher, width, height)
}

func (dp *deferredParticipant) SetMuted(kind room.TrackKind, muted bool) {
	p, err := dp.get()
	if err != nil {
		dp.pl.s.log.Debug("mute of a call member not joined", "user", dp.userID, "error", err)
		return
	}
	p.SetMuted(kind, muted)
}

func (dp *deferredParticipant) ActivateAt(acceptedAt time.Time) error {
	p, err := dp.get()
	if err != nil {
		return err
	}
	return p.ActivateAt(acceptedAt)
}
