package recording

import (
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/call"
)

// Recording every call (recording.calls): CallBegan starts recording the call's room,
// CallEnded stops it. Both come from signaling's hooks, which run under the signaling
// lock and must not block: they only queue the work, in order (a short call's stop never
// runs before its start), on a goroutine the Recorder's Close waits for.

// CallBegan starts recording the call's room.
func (r *Recorder) CallBegan(c call.CallSummary) {
	id, err := room.ParseID(c.RoomID.Int, c.RoomID.Str)
	if err != nil {
		return
	}
	id = id.InApp(c.SDKAppID)
	r.inOrder(func() {
		if r.Elsewhere != nil {
			if node := r.Elsewhere(id); node != "" {
				r.log.Warn("call not recorded: its room is on another node (D122)", "call", c.CallID, "room", id.String(), "node", node)
				return
			}
		}
		if _, err := r.Start(id); err != nil {
			r.log.Warn("call not recorded", "call", c.CallID, "room", id.String(), "error", err)
		}
	})
}

// CallEnded stops the recording of the call's room.
func (r *Recorder) CallEnded(c call.CallSummary) {
	if c.BeganAt.IsZero() {
		return // never began: never recorded
	}
	id, err := room.ParseID(c.RoomID.Int, c.RoomID.Str)
	if err != nil {
		return
	}
	id = id.InApp(c.SDKAppID)
	r.inOrder(func() {
		r.mu.Lock()
		rec := r.active[id]
		r.mu.Unlock()
		if rec != nil {
			_, _ = r.Stop(rec.id)
		}
	})
}

// RoomPlaced stops the recording of room id on this node, which (the app's owner) has
// just placed the room on media node node (D95): started here before the room had a
// member (by the admin API, or by CallBegan, which runs before the call's joins), it
// would stay empty. It says where the room is (D122). It only queues the work.
func (r *Recorder) RoomPlaced(id room.ID, node string) {
	r.inOrder(func() {
		r.mu.Lock()
		rec := r.active[id]
		r.mu.Unlock()
		if rec == nil {
			return
		}
		r.log.Warn("recording stopped: its room is on another node (D122)", "recording", rec.id, "room", id.String(), "node", node)
		_, _ = r.Stop(rec.id)
	})
}

// inOrder runs fn after the functions queued before it, on one goroutine at a time that
// Close waits for; nothing runs once the Recorder closed.
func (r *Recorder) inOrder(fn func()) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.queue = append(r.queue, fn)
	start := !r.draining
	if start {
		r.draining = true
		r.wg.Add(1)
	}
	r.mu.Unlock()
	if start {
		go r.drainQueue()
	}
}

func (r *Recorder) drainQueue() {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.draining = false
			r.mu.Unlock()
			return
		}
		fn := r.queue[0]
		r.queue = r.queue[1:]
		r.mu.Unlock()
		fn()
	}
}
