package recording

import (
	"os"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/call"
)

// Recording every call (recording.calls): CallBegan starts recording the call's room,
// CallEnded stops it. Both come from signaling's hooks, which run under the signaling
// lock and must not block: they only queue the work, in order (a short call's stop never
// runs before its start), on a goroutine the Recorder's Close waits for.
//
// In a cluster the hooks run on the app's owner, where the call machine is; a call's room
// may be on a media node (cluster.room_placement load, D95). The owner then asks that
// node, through Remote, to record it (RecordCall there), and to stop at the call's end
// (D124). The room is placed at the call's first join, which may come before or after the
// begin's hook: a begin that finds the room placed asks the media node at once; one that
// comes first starts here, and RoomPlaced hands that still empty recording over to the
// media node (dropped here without a trace: no manifest, no recording_finished).

// CallBegan starts recording the call's room.
func (r *Recorder) CallBegan(c call.CallSummary) {
	id, ok := callRoom(c)
	if !ok {
		return
	}
	r.inOrder(func() {
		if r.Elsewhere != nil {
			if node := r.Elsewhere(id); node != "" {
				r.recordOn(node, c.CallID, id)
				return
			}
		}
		r.startCall(c.CallID, id)
	})
}

// CallEnded stops the recording of the call's room.
func (r *Recorder) CallEnded(c call.CallSummary) {
	if c.BeganAt.IsZero() {
		return // never began: never recorded
	}
	id, ok := callRoom(c)
	if !ok {
		return
	}
	r.inOrder(func() {
		r.mu.Lock()
		node := r.remote[id]
		delete(r.remote, id)
		r.mu.Unlock()
		if node != "" && r.Remote != nil {
			r.Remote(node, c.CallID, id, false)
			return
		}
		r.stopRoom(id)
	})
}

// RecordCall is an owner's request to this media node (D124): call callID of owner began
// (on) or ended in room id, which the owner placed here; it records or stops the room as
// CallBegan and CallEnded do on one node. It only queues the work.
func (r *Recorder) RecordCall(owner, callID string, id room.ID, on bool) {
	r.inOrder(func() {
		if on {
			r.log.Debug("call recording asked by the app's owner", "owner", owner, "call", callID, "room", id.String())
			r.startCall(callID, id)
			return
		}
		r.stopRoom(id)
	})
}

// callRoom is the call's room in its app.
func callRoom(c call.CallSummary) (room.ID, bool) {
	id, err := room.ParseID(c.RoomID.Int, c.RoomID.Str)
	if err != nil {
		return room.ID{}, false
	}
	return id.InApp(c.SDKAppID), true
}

// startCall records room id for call callID here (inOrder).
func (r *Recorder) startCall(callID string, id room.ID) {
	if _, err := r.start(id, callID); err != nil {
		r.log.Warn("call not recorded", "call", callID, "room", id.String(), "error", err)
	}
}

// stopRoom stops the recording of room id here, if any (inOrder).
func (r *Recorder) stopRoom(id room.ID) {
	r.mu.Lock()
	rec := r.active[id]
	r.mu.Unlock()
	if rec != nil {
		_, _ = r.Stop(rec.id)
	}
}

// recordOn asks media node node to record room id for call callID (inOrder); without
// Remote it says why the call is not recorded.
func (r *Recorder) recordOn(node, callID string, id room.ID) {
	if r.Remote == nil {
		r.log.Warn("call not recorded: its room is on another node (D122)", "call", callID, "room", id.String(), "node", node)
		return
	}
	r.mu.Lock()
	if r.remote == nil {
		r.remote = make(map[room.ID]string)
	}
	r.remote[id] = node
	r.mu.Unlock()
	r.Remote(node, callID, id, true)
}

// RoomPlaced hears that this node (the app's owner) has just placed room id on media node
// node (D95). A recording of the room started here before it had a member would stay
// empty: one a call's begin started moves to the media node (recordOn); one the admin API
// started stops, saying where the room is (D122). It only queues the work.
func (r *Recorder) RoomPlaced(id room.ID, node string) {
	r.inOrder(func() {
		r.mu.Lock()
		rec := r.active[id]
		r.mu.Unlock()
		if rec == nil {
			return
		}
		if rec.call != "" && r.Remote != nil && r.discard(rec) {
			r.recordOn(node, rec.call, id)
			return
		}
		r.log.Warn("recording stopped: its room is on another node (D122)", "recording", rec.id, "room", id.String(), "node", node)
		_, _ = r.Stop(rec.id)
	})
}

// discard drops a recording that recorded nothing (no viewer opened) as if it had never
// started: out of the tables, its directory removed, no manifest, no onFinished. It
// reports false, changing nothing, when the recording has a viewer.
func (r *Recorder) discard(rec *recording) bool {
	rec.attachMu.Lock() // no attach in flight
	defer rec.attachMu.Unlock()
	rec.mu.Lock()
	if len(rec.viewers) > 0 || rec.stopped {
		rec.mu.Unlock()
		return false
	}
	rec.stopped = true
	rec.mu.Unlock()
	r.mu.Lock()
	if r.active[rec.room] == rec {
		delete(r.active, rec.room)
	}
	delete(r.recs, rec.id)
	r.mu.Unlock()
	if err := os.RemoveAll(rec.dir); err != nil {
		r.log.Warn("recording directory not removed", "recording", rec.id, "error", err)
	}
	r.log.Debug("call recording moved to the room's media node", "recording", rec.id, "call", rec.call, "room", rec.room.String())
	return true
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
