package client

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Event is one notification received from the server: an event (onCallBegin, …) or a
// negotiation message (offer, trickle).
type Event struct {
	// Seq numbers the notifications of a Conn from 1 in arrival order.
	Seq uint64
	// Name is the notification's method (protocol.EventCallBegin, protocol.MethodOffer, …).
	Name string
	// Params is the raw payload.
	Params json.RawMessage
	// Received is when the reader decoded it.
	Received time.Time
}

// Decode unmarshals the payload into v (e.g. *protocol.CallBeginEvent).
func (e Event) Decode(v any) error {
	if len(e.Params) == 0 {
		return nil
	}
	if err := json.Unmarshal(e.Params, v); err != nil {
		return fmt.Errorf("client: decode %s #%d: %w", e.Name, e.Seq, err)
	}
	return nil
}

// logEntry is an Event plus whether a waiter already returned it.
type logEntry struct {
	Event
	consumed bool
}

// eventLog keeps the last notifications in order and wakes waiters. The reader appends;
// any goroutine reads. mu guards everything.
type eventLog struct {
	mu      sync.Mutex
	limit   int
	entries []logEntry // entries[i].Seq == entries[0].Seq+i
	nextSeq uint64
	// consumedBelow maps a name ("" = any) to a seq below which every logged event of that
	// name is consumed, so take starts there instead of at the oldest entry: a wait costs
	// the events since the last wait for its name, not the whole log (D200). Names whose
	// seq fell out of the log are dropped when the log is halved.
	consumedBelow map[string]uint64
	changed       chan struct{} // closed and replaced on every append and on close
	closed        bool          // the reader ended: nothing more will come
}

func newEventLog(limit int) *eventLog {
	return &eventLog{limit: limit, consumedBelow: make(map[string]uint64), changed: make(chan struct{})}
}

func (l *eventLog) add(name string, params json.RawMessage, now time.Time) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nextSeq++
	ev := Event{Seq: l.nextSeq, Name: name, Params: params, Received: now}
	if len(l.entries) >= l.limit {
		keep := l.limit / 2
		n := copy(l.entries, l.entries[len(l.entries)-keep:])
		clear(l.entries[n:])
		l.entries = l.entries[:n]
		for name, seq := range l.consumedBelow {
			if seq <= l.entries[0].Seq {
				delete(l.consumedBelow, name)
			}
		}
	}
	l.entries = append(l.entries, logEntry{Event: ev})
	close(l.changed)
	l.changed = make(chan struct{})
	return ev
}

func (l *eventLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

func (l *eventLog) snapshot() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Event, len(l.entries))
	for i, e := range l.entries {
		out[i] = e.Event
	}
	return out
}

// take returns the oldest unconsumed event that matches and marks it consumed; otherwise
// the channel that is closed on the next change, and whether the log is closed.
func (l *eventLog) take(name string, match func(Event) bool) (Event, bool, <-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := 0
	if len(l.entries) > 0 {
		start = int(min(max(l.consumedBelow[name], l.entries[0].Seq)-l.entries[0].Seq, uint64(len(l.entries))))
	}
	// allConsumed: every entry of name before i is consumed, so consumedBelow may move to i.
	allConsumed := true
	for i := start; i < len(l.entries); i++ {
		e := &l.entries[i]
		if name != "" && e.Name != name {
			continue
		}
		if !e.consumed && (match == nil || match(e.Event)) {
			e.consumed = true
			if allConsumed {
				l.consumedBelow[name] = e.Seq + 1
			}
			return e.Event, true, nil, false
		}
		if !e.consumed {
			allConsumed = false
		} else if allConsumed {
			l.consumedBelow[name] = e.Seq + 1
		}
	}
	if allConsumed {
		l.consumedBelow[name] = l.nextSeq + 1
	}
	return Event{}, false, l.changed, l.closed
}

// Events returns the notifications received so far (the last Options.EventLogSize at
// most), oldest first.
func (c *Conn) Events() []Event { return c.events.snapshot() }

// EventCount returns how many logged notifications are named name.
func (c *Conn) EventCount(name string) int {
	n := 0
	for _, e := range c.events.snapshot() {
		if e.Name == name {
			n++
		}
	}
	return n
}

// WaitEvent returns the oldest notification named name ("" = any) that match accepts (nil
// = any) and that no earlier WaitEvent returned, waiting for it when none is logged yet.
// So "wait for onCallBegin" succeeds whether the event came before or after the call, and
// two waits return two different events. It fails with ctx's error, or with ErrClosed
// once the socket is gone and nothing logged matches. match runs under the log's lock:
// it must not call the Conn.
func (c *Conn) WaitEvent(ctx context.Context, name string, match func(Event) bool) (Event, error) {
	for {
		ev, ok, changed, closed := c.events.take(name, match)
		if ok {
			return ev, nil
		}
		if closed {
			return Event{}, fmt.Errorf("client: wait %s: %w", waitName(name), c.closedErr())
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("client: wait %s: %w", waitName(name), ctx.Err())
		}
	}
}

func waitName(name string) string {
	if name == "" {
		return "any event"
	}
	return name
}

func (c *Conn) closedErr() error {
	if err := c.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// WaitFor waits like Conn.WaitEvent for an event named name whose payload, decoded into a
// T, satisfies match (nil = any), and returns the payload. Payloads that do not decode
// into T never match.
//
//	join, err := client.WaitFor(ctx, alice, protocol.EventUserJoin,
//		func(e protocol.UserJoinEvent) bool { return e.UserID == "bob" })
func WaitFor[T any](ctx context.Context, c *Conn, name string, match func(T) bool) (T, error) {
	var got T
	_, err := c.WaitEvent(ctx, name, func(e Event) bool {
		var v T
		if e.Decode(&v) != nil {
			return false
		}
		if match != nil && !match(v) {
			return false
		}
		got = v
		return true
	})
	return got, err
}

// WaitCallReceived waits for the next invitation (onCallReceived).
func (c *Conn) WaitCallReceived(ctx context.Context) (protocol.CallReceivedEvent, error) {
	return WaitFor[protocol.CallReceivedEvent](ctx, c, protocol.EventCallReceived, nil)
}

// WaitCallBegin waits for the next onCallBegin.
func (c *Conn) WaitCallBegin(ctx context.Context) (protocol.CallBeginEvent, error) {
	return WaitFor[protocol.CallBeginEvent](ctx, c, protocol.EventCallBegin, nil)
}

// WaitCallEnd waits for the next onCallEnd.
func (c *Conn) WaitCallEnd(ctx context.Context) (protocol.CallEndEvent, error) {
	return WaitFor[protocol.CallEndEvent](ctx, c, protocol.EventCallEnd, nil)
}

// WaitCallCancelled waits for the next onCallCancelled.
func (c *Conn) WaitCallCancelled(ctx context.Context) (protocol.CallCancelledEvent, error) {
	return WaitFor[protocol.CallCancelledEvent](ctx, c, protocol.EventCallCancelled, nil)
}

// WaitUserEvent waits for the next call user event (protocol.EventUserAccept,
// EventUserReject, EventUserNoResponse or EventUserLineBusy) about userID ("" = anyone).
func (c *Conn) WaitUserEvent(ctx context.Context, name, userID string) (protocol.UserEvent, error) {
	return WaitFor(ctx, c, name, func(e protocol.UserEvent) bool { return userID == "" || e.UserID == userID })
}

// WaitUserJoin waits for onUserJoin of userID ("" = anyone).
func (c *Conn) WaitUserJoin(ctx context.Context, userID string) (protocol.UserJoinEvent, error) {
	return WaitFor(ctx, c, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return userID == "" || e.UserID == userID })
}

// WaitUserLeave waits for onUserLeave of userID ("" = anyone).
func (c *Conn) WaitUserLeave(ctx context.Context, userID string) (protocol.UserLeaveEvent, error) {
	return WaitFor(ctx, c, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return userID == "" || e.UserID == userID })
}

// WaitUserVideoAvailable waits for onUserVideoAvailable of userID with the given state.
func (c *Conn) WaitUserVideoAvailable(ctx context.Context, userID string, available bool) (protocol.UserVideoAvailableEvent, error) {
	return WaitFor(ctx, c, protocol.EventUserVideoAvailable, func(e protocol.UserVideoAvailableEvent) bool {
		return e.UserID == userID && e.IsVideoAvailable == available
	})
}

// WaitUserAudioAvailable waits for onUserAudioAvailable of userID with the given state.
func (c *Conn) WaitUserAudioAvailable(ctx context.Context, userID string, available bool) (protocol.UserAudioAvailableEvent, error) {
	return WaitFor(ctx, c, protocol.EventUserAudioAvailable, func(e protocol.UserAudioAvailableEvent) bool {
		return e.UserID == userID && e.IsAudioAvailable == available
	})
}

// On registers fn for notifications named name ("" = every notification) and returns a
// function that unregisters it. Handlers run one at a time, in arrival order, on the
// Conn's handler goroutine (never on the reader), so they may call requests; they must
// not call Close. Only notifications that arrive after On are delivered; Events has the
// earlier ones.
func (c *Conn) On(name string, fn func(Event)) (unregister func()) {
	return c.handlers.add(name, fn)
}
