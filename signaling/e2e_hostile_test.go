package signaling_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// rawLogin logs r in as userID and returns after the answer.
func rawLogin(t *testing.T, r *rawConn, userID string) {
	t.Helper()
	login, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 0, "method": "login", "params": protocol.LoginParams{
		SDKAppID: protocolDevApp, UserID: userID, UserSig: sig(t, userID, time.Hour)}})
	if resp := r.roundTrip(string(login)); resp.Error != nil {
		t.Fatalf("login %s: %+v", userID, resp.Error)
	}
}

// outcomes counts what hostile clients got back, by a short description.
type outcomes struct {
	mu   sync.Mutex
	seen map[string]int
}

func (o *outcomes) add(what string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[string]int{}
	}
	key := what + " ok"
	if err != nil {
		key = fmt.Sprintf("%s %d", what, protocol.ErrorCode(err))
		if d, ok := rateLimit(err); ok {
			key += " " + d.Limit
		}
	}
	o.seen[key]++
}

func (o *outcomes) count(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen[key]
}

func rateLimit(err error) (protocol.RateLimitData, bool) {
	perr, ok := protocolError(err)
	if !ok {
		return protocol.RateLimitData{}, false
	}
	return perr.RateLimit()
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestHostileClients runs many bad clients at once next to one healthy 1v1 call: trickle
// floods, candidate floods, remote-view wish floods, invitation floods, pipelined junk,
// sockets that never log in and failed logins. Each gets its documented error, the call
// keeps its media and events throughout, and once the bad clients are gone the
// goroutines and the heap are back at their baseline.
func TestHostileClients(t *testing.T) {
	if testing.Short() {
		t.Skip("the hostile run is long")
	}
	st, healthy := newLimitStack(t, "calm", func(c *signalingConfig) {
		c.Signaling.LoginTimeout = 2 * time.Second
		c.Signaling.ReconnectGrace = 100 * time.Millisecond // a closed client's session ends at once
		// A trickle flood is refused after its burst whatever its speed: at the default 50
		// a second, a flood slowed to 20 ms a request (-race on a busy machine) never
		// emptied the bucket; at 1 a second its 300 requests would need 200 s.
		c.Limits.TricklesPerSecond = 1
	})
	ctx := ctxT(t, 3*time.Minute)
	baseGoroutines, baseHeap := goroutines(), heapInuse()

	// The bad clients that need a session log in first: the failed logins below lock
	// this IP out of logging in.
	const each = 4
	var trickers, candidaters, wishers, inviters []*client.Conn
	for i := range each {
		for _, group := range []struct {
			list *[]*client.Conn
			name string
		}{{&trickers, "tricker"}, {&candidaters, "candidater"}, {&wishers, "wisher"}, {&inviters, "inviter"}} {
			c := st.login(t, fmt.Sprintf("%s%d", group.name, i))
			if group.list != &inviters {
				must(t, joinRoomGranted(ctx, t, c, protocol.StrRoom(fmt.Sprintf("hostile-%s", group.name))))
			}
			*group.list = append(*group.list, c)
		}
	}
	var junkers []*rawConn
	for i := range each {
		r := st.raw(t)
		rawLogin(t, r, fmt.Sprintf("junker%d", i))
		junkers = append(junkers, r)
	}

	var got outcomes
	var wg sync.WaitGroup
	flood := func(c *client.Conn, n int, what string, req func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				got.add(what, req(i))
			}
			_ = c.Close()
		}()
	}
	for _, c := range trickers {
		flood(c, 300, "trickle", func(int) error {
			return c.Request(ctx, protocol.MethodTrickle, protocol.TrickleParams{Target: protocol.TargetSubscriber}, nil)
		})
	}
	for i, c := range candidaters {
		flood(c, 150, "candidate", func(j int) error {
			return c.Request(ctx, protocol.MethodTrickle, protocol.TrickleParams{
				Target: protocol.TargetPublisher, Candidate: hostCandidate("127.0.0.1", 20000+1000*i+j)}, nil)
		})
	}
	for _, c := range wishers {
		flood(c, 100, "wish", func(j int) error {
			return c.StartRemoteView(ctx, fmt.Sprintf("ghost%d", j), protocol.VideoQuality{})
		})
	}
	ghosts := make([]string, protocol.MaxInvitees)
	for i := range ghosts {
		ghosts[i] = fmt.Sprintf("ghost%d", i)
	}
	for _, c := range inviters {
		flood(c, 6, "invite", func(int) error {
			_, err := c.Calls(ctx, ghosts, protocol.MediaTypeAudio, protocol.CallParams{})
			if err == nil {
				err = c.Hangup(ctx)
			}
			return err
		})
	}
	for _, r := range junkers {
		wg.Add(2)
		const junk = 500
		go func() { // pipelined, without waiting for answers
			defer wg.Done()
			for range junk {
				if r.ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":`)) != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			defer r.ws.Close()
			_ = r.ws.SetReadDeadline(time.Now().Add(time.Minute))
			for answered := 0; answered < junk; {
				_, data, err := r.ws.ReadMessage()
				if err != nil {
					got.add("junk closed", err)
					return
				}
				var resp protocol.Response
				if json.Unmarshal(data, &resp) == nil && resp.Error != nil {
					got.add("junk", resp.Error)
					answered++
				}
			}
		}()
	}
	for range 5 * each {
		wg.Add(1)
		go func() { // connects and never logs in
			defer wg.Done()
			ws, _, err := websocket.DefaultDialer.Dial(st.url, nil)
			if err != nil {
				got.add("silent dial", err)
				return
			}
			defer ws.Close()
			_ = ws.SetReadDeadline(time.Now().Add(time.Minute))
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					got.add(fmt.Sprintf("silent closed %d", closeCode(err)), nil)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // failed logins from one IP until its bucket refuses them
		defer wg.Done()
		// Whatever the speed: a socket that has not logged in within the login timeout is
		// closed (4008), so mallory dials again and goes on from the same IP; and the
		// bucket refills (10 a minute), so she tries until it is empty rather than a fixed
		// number of times. The bound only ends a run whose limit never refuses.
		var mallory *client.Conn
		defer func() {
			if mallory != nil {
				_ = mallory.Close()
			}
		}()
		for range 10 * signaling.DefaultLimitsConfig().FailedLoginsBurst {
			if mallory == nil {
				c, err := client.Dial(ctx, st.url, client.Options{Logger: testLogger()})
				if err != nil {
					got.add("login dial", err)
					return
				}
				mallory = c
			}
			_, err := mallory.Login(ctx, protocolDevApp, "mallory", "forged")
			if _, ok := protocolError(err); !ok && ctx.Err() == nil {
				_ = mallory.Close() // closed by the login timeout: a new socket
				mallory = nil
				continue
			}
			got.add("login", err)
			if d, ok := rateLimit(err); ok && d.Limit == protocol.LimitFailedLogins {
				return
			}
		}
	}()

	healthy.check(t) // while the floods run
	wg.Wait()
	healthy.check(t)

	for _, want := range []struct {
		key  string
		what string
	}{
		{"trickle 6001 trickles", "trickle floods rate limited"},
		{"candidate 4010", "candidate floods capped"},
		{"wish 4009", "wish floods capped"},
		{"invite 6001 invitations", "invitation floods rate limited"},
		{"junk -32700", "pipelined junk answered"},
		{fmt.Sprintf("silent closed %d ok", signaling.CloseLoginTimeout), "silent sockets closed"},
		{"login 1002", "forged userSigs refused"},
		{"login 6001 failedLogins", "failed logins rate limited"},
	} {
		if got.count(want.key) == 0 {
			t.Errorf("%s: no %q in %v", want.what, want.key, got.seen)
		}
	}
	if n, burst := got.count("login 1002"), signaling.DefaultLimitsConfig().FailedLoginsBurst; n < burst {
		t.Errorf("%d forged logins refused before the limit, want at least the burst %d (%v)", n, burst, got.seen)
	}
	if n := got.count("junk -32700"); n != each*500 {
		t.Errorf("%d junk messages answered, want %d (%v)", n, each*500, got.seen)
	}
	t.Logf("outcomes: %v", got.seen)

	// The bad clients are gone: their sessions, rooms and goroutines end.
	var n int
	waitUntil(t, ctx, "goroutines back at the baseline", func() bool {
		n = goroutines()
		return n <= baseGoroutines+10
	})
	heap := heapInuse()
	t.Logf("goroutines %d (baseline %d), heap in use %d KiB (baseline %d KiB)", n, baseGoroutines, heap>>10, baseHeap>>10)
	if heap > 2*baseHeap+32<<20 {
		t.Errorf("heap in use %d KiB after the run, baseline %d KiB", heap>>10, baseHeap>>10)
	}
	if n := st.service.Sessions(); n != 2 {
		t.Errorf("%d sessions left, want the call's 2", n)
	}
	healthy.check(t)
}

// closeCode is the WebSocket close status in err, or -1.
func closeCode(err error) int {
	var ce *websocket.CloseError
	if asCloseError(err, &ce) {
		return ce.Code
	}
	return -1
}
