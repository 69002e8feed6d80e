package signaling

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestInlineRequestsKeepTheirOrder: requests an InlineHandler allows run on the reader
// goroutine only while the dispatcher has nothing (D196): pipelined behind a request the
// dispatcher runs, they wait for it, and every answer comes in request order.
func TestInlineRequestsKeepTheirOrder(t *testing.T) {
	env := newTestEnv(t, nil)
	var mu sync.Mutex
	var ran []string
	asked := 0
	note := func(what string) {
		mu.Lock()
		ran = append(ran, what)
		mu.Unlock()
	}
	env.inline = func(method string) bool {
		if method == "slow" {
			return false
		}
		mu.Lock()
		asked++
		mu.Unlock()
		return method == "echo" || method == "echoNoted"
	}
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free) // a failing test does not leave slow waiting
	Register(env.disp, "slow", func(ctx context.Context, s *testSession, p protocol.Empty) (protocol.Empty, error) {
		note("slow")
		<-release
		return protocol.Empty{}, nil
	})
	Register(env.disp, "echoNoted", func(ctx context.Context, s *testSession, p echoParams) (echoParams, error) {
		note(p.Text)
		return p, nil
	})
	ws := env.dial(nil)
	if r := rpc(t, ws, 1, "echo", echoParams{Text: "alone"}); r.Error != nil || string(r.Result) != `{"text":"alone"}` {
		t.Fatalf("inline echo = %+v", r)
	}
	mu.Lock()
	idleAsked := asked
	asked = 0
	mu.Unlock()
	if idleAsked != 1 {
		t.Fatalf("Inline asked %d times for one idle request, want 1", idleAsked)
	}

	// slow blocks the dispatcher; the requests behind it may not overtake it.
	sendRaw(t, ws, `{"jsonrpc":"2.0","id":2,"method":"slow"}`)
	waitFor(t, "slow runs", func() bool { mu.Lock(); defer mu.Unlock(); return len(ran) == 1 })
	for i := 3; i <= 5; i++ {
		sendRaw(t, ws, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"echoNoted","params":{"text":"e%d"}}`, i, i))
	}
	time.Sleep(50 * time.Millisecond) // room for an inline request that overtook slow
	mu.Lock()
	early, earlyAsked := slices.Clone(ran), asked
	mu.Unlock()
	if !reflect.DeepEqual(early, []string{"slow"}) || earlyAsked != 0 {
		t.Fatalf("ran %v while slow waited (Inline asked %d times), want [slow] (0)", early, earlyAsked)
	}
	free()
	for id := 2; id <= 5; id++ {
		if r := readMsg(t, ws); string(r.ID) != fmt.Sprint(id) || r.Error != nil {
			t.Fatalf("answer %d: %+v", id, r)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"slow", "e3", "e4", "e5"}; !reflect.DeepEqual(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
}
