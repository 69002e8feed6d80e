package room

import (
	"fmt"
	"sync"
	"time"
)

// Room is one room: its participants, what they publish and who receives what. Its mutex
// guards membership and forwarding decisions; it is never taken on the packet path.
type Room struct {
	id      ID
	manager *Manager
	events  *eventQueue
	tickers *roomTickers // volume and quality reports (tickers.go)

	// mu guards everything below and the room-guarded fields of its Participants. Lock
	// order: Manager.mu, then Room.mu, then sfu locks (AddDownTrack/RemoveDownTrack are
	// called under it). Peers and Receivers are never closed under it: their close runs
	// Receiver.OnClose callbacks that take it.
	mu           sync.Mutex
	participants []*Participant // join order
	closed       bool
	emptyTimer   *time.Timer
	emptyGen     uint64 // bumped whenever the room stops being empty or closes
	// closeWhenEmpty: a join asked for JoinOptions.CloseWhenEmpty; the last Leave closes
	// the room instead of arming emptyTimer.
	closeWhenEmpty bool
	// joinedReports counts the ParticipantJoined reports: a volume report follows every
	// change, so a newcomer gets the current map even when the volumes hold still.
	joinedReports uint64
}

func newRoom(m *Manager, id ID) *Room {
	return &Room{id: id, manager: m, events: newEventQueue(), tickers: newRoomTickers()}
}

// start runs the event goroutine. Caller holds Manager.mu.
func (r *Room) start() {
	r.manager.eventGoroutines.Add(1)
	go func() {
		defer r.manager.eventGoroutines.Done()
		r.events.run()
	}()
	r.startTickers()
}

// ID is the room's ID.
func (r *Room) ID() ID { return r.id }

// Participant returns the participant userID, nil when absent.
func (r *Room) Participant(userID string) *Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.findLocked(userID)
}

// Participants returns every participant's published state, in join order. Early
// participants (not yet activated) are listed with Early set and nothing published: the
// others must not hear of them.
func (r *Room) Participants() []ParticipantInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ParticipantInfo, 0, len(r.participants))
	for _, p := range r.participants {
		info := ParticipantInfo{UserID: p.userID, Early: p.early, AudioMuted: p.audioMuted, VideoMuted: p.videoMuted}
		for _, kind := range p.published {
			switch kind {
			case KindAudio:
				info.AudioPublished = true
			case KindVideo:
				info.VideoPublished = true
			}
		}
		out = append(out, info)
	}
	return out
}

func (r *Room) findLocked(userID string) *Participant {
	for _, p := range r.participants {
		if p.userID == userID {
			return p
		}
	}
	return nil
}

// members returns the current participants.
func (r *Room) members() []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Participant(nil), r.participants...)
}

// add inserts p and subscribes it to the audio already published (which builds its
// subscriber Peer in the background when there is any, peers.go). Caller holds
// Manager.mu (so the room cannot close meanwhile).
func (r *Room) add(p *Participant, closeWhenEmpty bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("join room %s: %w", r.id, ErrManagerClosed)
	}
	if r.findLocked(p.userID) != nil {
		return fmt.Errorf("join room %s as %q: %w", r.id, p.userID, ErrAlreadyInRoom)
	}
	if max := r.manager.cfg.MaxParticipants; max > 0 && len(r.participants) >= max {
		return fmt.Errorf("join room %s as %q: %d participants (room.max_participants): %w", r.id, p.userID, max, ErrRoomFull)
	}
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
		r.emptyTimer = nil
	}
	r.emptyGen++
	r.closeWhenEmpty = r.closeWhenEmpty || closeWhenEmpty
	p.room = r
	r.participants = append(r.participants, p)
	p.subscribeAllLocked()
	return nil
}

// removeLocked drops p from the member list. When it was the last, it arms the empty
// timer, or, in a room that closes when empty, returns closeNow and the generation to
// pass to Manager.closeIfStillEmpty once the caller released r.mu.
func (r *Room) removeLocked(p *Participant) (closeNow bool, gen uint64) {
	for i, x := range r.participants {
		if x == p {
			r.participants = append(r.participants[:i], r.participants[i+1:]...)
			break
		}
	}
	if len(r.participants) > 0 || r.closed || r.emptyTimer != nil {
		return false, 0
	}
	r.emptyGen++
	emptyGen := r.emptyGen
	if r.closeWhenEmpty {
		return true, emptyGen
	}
	r.emptyTimer = time.AfterFunc(r.manager.cfg.EmptyTimeout, func() { r.manager.closeIfStillEmpty(r, emptyGen) })
	return false, 0
}

// closeIfEmpty closes the room when it is still empty since timer generation gen.
// Caller holds Manager.mu.
func (r *Room) closeIfEmpty(gen uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || gen != r.emptyGen || len(r.participants) > 0 {
		return false
	}
	r.closeLocked()
	return true
}

// forceClose closes the room (Manager.Close, after every participant left). Idempotent.
func (r *Room) forceClose() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closeLocked()
	}
}

func (r *Room) closeLocked() {
	r.closed = true
	r.emptyGen++
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
		r.emptyTimer = nil
	}
	id, l := r.id, r.manager.listener
	r.tickers.close()
	r.events.push(func() { l.RoomClosed(id) })
	r.events.close()
}

// emitLocked queues a Listener call. Caller holds r.mu, so events keep the order of the
// changes they report.
func (r *Room) emitLocked(ev func(l Listener, id ID)) {
	l, id := r.manager.listener, r.id
	r.events.push(func() { ev(l, id) })
}

// publishedLocked is called when publisher's new track rcv is published: every other
// participant gets its audio, and its video when it asked for it (early ones nothing).
func (r *Room) publishedLocked(publisher *Participant, rcv upTrack, kind TrackKind) {
	for _, p := range r.participants {
		if p == publisher {
			continue
		}
		if kind == KindAudio || p.wantVideo[publisher.userID] {
			p.subscribeLocked(rcv)
		}
	}
}
