package client

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Events: WaitEvent order, the bounded event log and On handlers.

func TestWaitEventConsumesInOrder(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		fc.notify(protocol.EventCallReceived, protocol.CallReceivedEvent{CallID: "c1", CallerID: "alice", MediaType: protocol.MediaTypeVideo})
		fc.notify(protocol.EventUserJoin, protocol.UserJoinEvent{UserID: "carol"})
		fc.notify(protocol.EventCallBegin, protocol.CallBeginEvent{CallID: "c1", Role: protocol.RoleCalled})
		fc.notify(protocol.EventUserJoin, protocol.UserJoinEvent{UserID: "alice"})
		fc.notify(protocol.EventCallBegin, protocol.CallBeginEvent{CallID: "c2"})
		fc.respond(req, nil)
	})
	c := dial(t, fs, Options{})
	ctx := testContext(t)
	if err := c.Request(ctx, "emit", nil, nil); err != nil {
		t.Fatal(err)
	}
	// The events arrived before the waits: they are found in the log.
	inv, err := c.WaitCallReceived(ctx)
	if err != nil || inv.CallID != "c1" || inv.CallerID != "alice" || inv.MediaType != protocol.MediaTypeVideo {
		t.Fatalf("onCallReceived %+v, %v", inv, err)
	}
	join, err := c.WaitUserJoin(ctx, "alice")
	if err != nil || join.UserID != "alice" {
		t.Fatalf("onUserJoin alice %+v, %v", join, err)
	}
	join, err = c.WaitUserJoin(ctx, "")
	if err != nil || join.UserID != "carol" {
		t.Fatalf("next onUserJoin %+v, %v (alice's was consumed)", join, err)
	}
	first, err := c.WaitCallBegin(ctx)
	if err != nil || first.CallID != "c1" {
		t.Fatalf("first onCallBegin %+v, %v", first, err)
	}
	second, err := c.WaitCallBegin(ctx)
	if err != nil || second.CallID != "c2" {
		t.Fatalf("second onCallBegin %+v, %v", second, err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.WaitCallBegin(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third onCallBegin: %v, want a deadline error", err)
	}

	// An event that comes while waiting wakes the waiter.
	got := make(chan Event, 1)
	go func() {
		ev, err := c.WaitEvent(ctx, protocol.EventCallEnd, nil)
		if err != nil {
			t.Error(err)
		}
		got <- ev
	}()
	fs.conn(0).notify(protocol.EventCallEnd, protocol.CallEndEvent{CallID: "c1", TotalTime: 3})
	ev := <-got
	var end protocol.CallEndEvent
	if err := ev.Decode(&end); err != nil || end.TotalTime != 3 {
		t.Fatalf("onCallEnd %+v, %v", end, err)
	}

	events := c.Events()
	names := make([]string, len(events))
	for i, e := range events {
		names[i] = e.Name
		if e.Seq != uint64(i+1) {
			t.Errorf("event %d has seq %d", i, e.Seq)
		}
	}
	want := []string{protocol.EventCallReceived, protocol.EventUserJoin, protocol.EventCallBegin, protocol.EventUserJoin, protocol.EventCallBegin, protocol.EventCallEnd}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("event log %v, want %v", names, want)
	}
	if n := c.EventCount(protocol.EventCallBegin); n != 2 {
		t.Errorf("EventCount(onCallBegin) = %d, want 2", n)
	}
}

func TestEventLogIsBounded(t *testing.T) {
	const sent = 10
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		for i := range sent {
			fc.notify(protocol.EventUserJoin, protocol.UserJoinEvent{UserID: fmt.Sprint("u", i)})
		}
		fc.respond(req, nil)
	})
	c := dial(t, fs, Options{EventLogSize: 4})
	if err := c.Request(testContext(t), "emit", nil, nil); err != nil {
		t.Fatal(err)
	}
	events := c.Events()
	if len(events) == 0 || len(events) > 4 {
		t.Fatalf("log holds %d events, want 1..4", len(events))
	}
	if last := events[len(events)-1]; last.Seq != sent {
		t.Errorf("last event seq %d, want %d", last.Seq, sent)
	}
}

func TestOnHandlersRunInOrderAndMayRequest(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		switch req.Method {
		case "emit":
			fc.respond(req, nil)
			for i := range 3 {
				fc.notify(protocol.EventUserJoin, protocol.UserJoinEvent{UserID: fmt.Sprint("u", i)})
				fc.notify(protocol.EventUserLeave, protocol.UserLeaveEvent{UserID: fmt.Sprint("u", i)})
			}
		default:
			fc.respond(req, nil)
		}
	})
	c := dial(t, fs, Options{})
	ctx := testContext(t)
	var mu sync.Mutex
	var joins, all []string
	c.On(protocol.EventUserJoin, func(e Event) {
		var j protocol.UserJoinEvent
		if err := e.Decode(&j); err != nil {
			t.Error(err)
		}
		// A handler may make requests: it does not run on the reader.
		if err := c.Request(ctx, "ack", nil, nil); err != nil {
			t.Error(err)
		}
		mu.Lock()
		joins = append(joins, j.UserID)
		mu.Unlock()
	})
	unregister := c.On("", func(e Event) {
		mu.Lock()
		all = append(all, e.Name)
		mu.Unlock()
	})
	if err := c.Request(ctx, "emit", nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "handlers", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(joins) == 3 && len(all) == 6
	})
	mu.Lock()
	if !reflect.DeepEqual(joins, []string{"u0", "u1", "u2"}) {
		t.Errorf("joins %v", joins)
	}
	for i, name := range all {
		want := protocol.EventUserJoin
		if i%2 == 1 {
			want = protocol.EventUserLeave
		}
		if name != want {
			t.Errorf("handler saw %v, want alternating join/leave", all)
			break
		}
	}
	mu.Unlock()
	unregister()
	unregister()
	if err := c.Request(ctx, "emit", nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "second round of join handlers", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(joins) == 6
	})
	mu.Lock()
	if len(all) != 6 {
		t.Errorf("unregistered handler still called: %d events", len(all))
	}
	mu.Unlock()
}
