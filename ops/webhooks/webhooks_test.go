package webhooks

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testSecret = "webhook-test-secret-0123"

// receiver is a webhook endpoint on 127.0.0.1 that checks signatures and keeps the
// events it accepted. fail(n) makes it answer 500 to the n-th request of an event id
// while n < failures.
type receiver struct {
	t        *testing.T
	srv      *httptest.Server
	failures int

	mu       sync.Mutex
	attempts map[string]int
	events   []Envelope
	bad      int // requests with a wrong signature
}

func newReceiver(t *testing.T, failures int) *receiver {
	r := &receiver{t: t, failures: failures, attempts: make(map[string]int)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.Method != http.MethodPost || !Verify([]byte(testSecret), body, req.Header.Get(SignatureHeader)) {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := req.Header.Get("X-Parley-Delivery")
	r.attempts[id]++
	if r.attempts[id] <= r.failures {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil || env.ID != id || req.Header.Get("X-Parley-Event") != env.Event {
		r.t.Errorf("bad body %q: %v", body, err)
	}
	r.events = append(r.events, env)
}

func (r *receiver) received() []Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Envelope(nil), r.events...)
}

func testConfig(urls ...string) Config {
	cfg := DefaultConfig()
	cfg.URLs = urls
	cfg.Secret = testSecret
	cfg.BackoffInitial = 5 * time.Millisecond
	cfg.BackoffMax = 20 * time.Millisecond
	return cfg
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 20*time.Second, what, cond)
}

// emitScenario feeds one call's life through the hooks and the room listener.
func emitScenario(d *Dispatcher) {
	t0 := time.Unix(1_700_000_000, 0)
	rid, _ := room.NewIntID(123456789)
	rid = rid.InApp(scenarioApp)
	c := call.CallSummary{
		SDKAppID: scenarioApp, CallID: "call-1", RoomID: protocol.IntRoom(123456789), Scene: protocol.SceneSingle, MediaType: protocol.MediaTypeVideo,
		Caller: "alice", Invitees: []string{"bob"}, CreatedAt: t0, BeganAt: t0.Add(2 * time.Second),
	}
	d.InviteeOffline(scenarioApp, "call-0", "carol", protocol.CallReceivedEvent{
		CallID: "call-0", CallerID: "alice", CallerNickname: "Alice", CallerAvatar: "https://example.com/a.png",
		MediaType: protocol.MediaTypeVideo, UserData: "hi", OfflinePushInfo: json.RawMessage(`{"title":"Alice calls"}`), Timeout: 30,
	})
	d.CallBegan(c)
	d.ParticipantJoined(rid, "alice")
	d.ParticipantJoined(rid, "bob") // not a second room_started
	c.Outcome, c.EndedAt = call.OutcomeAnswered, t0.Add(62*time.Second)
	c.Records = []protocol.CallRecord{
		{CallID: "call-1", UserID: "alice", Caller: "alice", Invitees: []string{"bob"}, Scene: protocol.SceneSingle, MediaType: protocol.MediaTypeVideo,
			RoomID: protocol.IntRoom(123456789), Role: protocol.RoleCaller, Result: protocol.CallResultOutgoing, BeginTime: t0.Unix() + 2, TotalTime: 60},
		{CallID: "call-1", UserID: "bob", Caller: "alice", Invitees: []string{"bob"}, Scene: protocol.SceneSingle, MediaType: protocol.MediaTypeVideo,
			RoomID: protocol.IntRoom(123456789), Role: protocol.RoleCalled, Result: protocol.CallResultIncoming, BeginTime: t0.Unix() + 2, TotalTime: 60},
	}
	d.CallEnded(c)
	d.RoomClosed(rid)
	other, _ := room.NewStringID("never-started")
	other = other.InApp(scenarioApp)
	d.RoomClosed(other) // no room_finished without room_started
}

// scenarioApp is the app (tenant) of every scenario event: each envelope names it.
const scenarioApp = 1400000007

var scenarioEvents = []string{EventInviteeOffline, EventCallBegan, EventRoomStarted, EventCallEnded, EventRoomFinished}

func TestReceiverGetsSignedEventsInOrder(t *testing.T) {
	rcv := newReceiver(t, 0)
	d, err := New(testConfig(rcv.srv.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	defer d.Close(context.Background())
	emitScenario(d)
	waitUntil(t, "five events", func() bool { return len(rcv.received()) == len(scenarioEvents) })

	got := rcv.received()
	for i, env := range got {
		if env.Event != scenarioEvents[i] || env.Seq != uint64(i+1) {
			t.Fatalf("event %d: %s seq %d, want %s seq %d", i, env.Event, env.Seq, scenarioEvents[i], i+1)
		}
		if env.SDKAppID != scenarioApp {
			t.Fatalf("event %d (%s): sdkAppId %d, want %d", i, env.Event, env.SDKAppID, scenarioApp)
		}
	}
	ended, _ := json.Marshal(got[3].Data)
	var data CallData
	if err := json.Unmarshal(ended, &data); err != nil {
		t.Fatal(err)
	}
	if data.CallID != "call-1" || data.Result != "answered" || data.TotalTime != 60 || data.Caller != "alice" || data.RoomID != protocol.IntRoom(123456789) {
		t.Fatalf("call_ended data %+v", data)
	}
	if data.BeginTime != 1_700_000_002 || len(data.Records) != 2 || data.Records[1].UserID != "bob" || data.Records[1].Result != protocol.CallResultIncoming {
		t.Fatalf("call_ended beginTime and records %+v", data)
	}
	// The members of each payload, exactly (spec D9, D22).
	members := func(v any) string {
		raw, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return strings.Join(keys, ",")
	}
	want := []string{
		"callId,callerAvatar,callerId,callerNickname,groupId,invitation,invitee,mediaType,offlinePushInfo,roomId,scene,timeout,userData",
		"beganAt,beginTime,callId,caller,createdAt,groupId,invitees,mediaType,roomId,scene,totalTime",
		"roomId",
		"beganAt,beginTime,callId,caller,createdAt,endedAt,groupId,invitees,mediaType,records,result,roomId,scene,totalTime",
		"roomId",
	}
	for i, env := range got {
		if m := members(env.Data); m != want[i] {
			t.Errorf("%s members %s, want %s", env.Event, m, want[i])
		}
	}
	offline, _ := json.Marshal(got[0].Data)
	var inv InviteeOfflineData
	if err := json.Unmarshal(offline, &inv); err != nil {
		t.Fatal(err)
	}
	if inv.CallID != "call-0" || inv.Invitee != "carol" || inv.CallerID != "alice" || inv.CallerNickname != "Alice" ||
		inv.MediaType != protocol.MediaTypeVideo || inv.UserData != "hi" || string(inv.OfflinePushInfo) != `{"title":"Alice calls"}` || inv.Timeout != 30 {
		t.Fatalf("invitee_offline data %+v", inv)
	}
	if rcv.bad != 0 {
		t.Fatalf("%d requests with a bad signature", rcv.bad)
	}
	// The receiver has every event; the sender counts a delivery once it read the answer.
	waitUntil(t, "5 deliveries counted", func() bool { return d.Stats().Delivered == 5 })
	if st := d.Stats(); st.Delivered != 5 || st.Retries != 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestFailingReceiverIsRetriedWithoutBlocking: a receiver that fails twice per event gets
// every event in order after retries, while a healthy receiver is not held back; and a
// receiver that never answers does not block the hooks (the queue drops instead).
func TestFailingReceiverIsRetriedWithoutBlocking(t *testing.T) {
	flaky, healthy := newReceiver(t, 2), newReceiver(t, 0)
	stall := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer stalled.Close()
	defer close(stall)

	cfg := testConfig(flaky.srv.URL, healthy.srv.URL, stalled.URL)
	cfg.QueueSize = 8
	d, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	emitScenario(d)
	waitUntil(t, "the healthy receiver's events", func() bool { return len(healthy.received()) == 5 })
	waitUntil(t, "the flaky receiver's events", func() bool { return len(flaky.received()) == 5 })
	for i, env := range flaky.received() {
		if env.Event != scenarioEvents[i] {
			t.Fatalf("flaky receiver event %d: %s, want %s", i, env.Event, scenarioEvents[i])
		}
	}
	if st := d.Stats(); st.Retries < 10 {
		t.Fatalf("retries %d, want >= 10 (two per event)", st.Retries)
	}

	// The stalled receiver holds its worker; its queue (8) fills and further events are
	// dropped. Every hook call returns: if one blocked, this loop would never finish.
	for i := 0; i < 50; i++ {
		emitScenario(d)
	}
	if d.Stats().Dropped == 0 {
		t.Fatal("no event was dropped although a receiver stalls with a queue of 8")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); err != nil { // gives up the stalled receiver's queue
		t.Fatal(err)
	}
	before := d.Stats().Dropped
	emitScenario(d) // after Close: dropped, no panic on the closed queues
	if d.Stats().Dropped <= before {
		t.Fatal("events after Close were not counted as dropped")
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	rcv := newReceiver(t, 1000)
	cfg := testConfig(rcv.srv.URL)
	cfg.MaxAttempts = 3
	d, _ := New(cfg, nil)
	d.Start()
	defer d.Close(context.Background())
	d.CallBegan(call.CallSummary{CallID: "x"})
	waitUntil(t, "the event to be given up", func() bool { return d.Stats().GivenUp == 1 })
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for _, n := range rcv.attempts {
		if n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"event":"call_began"}`)
	sig := Sign([]byte("k"), body)
	tests := []struct {
		name   string
		secret string
		body   string
		header string
		want   bool
	}{
		{"valid", "k", string(body), sig, true},
		{"other secret", "k2", string(body), sig, false},
		{"other body", "k", `{"event":"call_ended"}`, sig, false},
		{"no prefix", "k", string(body), strings.TrimPrefix(sig, "sha256="), false},
		{"empty", "k", string(body), "", false},
	}
	for _, tt := range tests {
		if got := Verify([]byte(tt.secret), []byte(tt.body), tt.header); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// RFC 4231 test case 2 ("Jefe", "what do ya want for nothing?").
	want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got := Sign([]byte("Jefe"), []byte("what do ya want for nothing?")); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestConfigValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string
	}{
		{"bad url", func(c *Config) { c.URLs = []string{"ftp://x"}; c.Secret = testSecret }, "webhooks.urls[0]"},
		{"short secret", func(c *Config) { c.URLs = []string{"http://127.0.0.1:1/"}; c.Secret = "short" }, "webhooks.secret"},
		{"queue", func(c *Config) { c.QueueSize = 0 }, "webhooks.queue_size"},
		{"attempts", func(c *Config) { c.MaxAttempts = 0 }, "webhooks.max_attempts"},
		{"backoff", func(c *Config) { c.BackoffMax = time.Millisecond }, "webhooks.backoff_max"},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		tt.mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("%s: %v does not name %s", tt.name, err, tt.key)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestLogsRedactURLs: the credentials a webhook URL carries (user:password@ and the
// query) appear in no log line and no error, for a failing receiver, an unreachable one,
// a full queue and a URL the configuration refuses; the host and path still show.
func TestLogsRedactURLs(t *testing.T) {
	failing := newReceiver(t, 1000)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + ln.Addr().String()
	ln.Close()
	withSecrets := func(base string) string {
		return strings.Replace(base, "http://", "http://hookuser:hookpass@", 1) + "/parley/hook?token=querysecret#fragsecret"
	}
	var logs strings.Builder // read after Close, which waits for the workers that log
	cfg := testConfig(withSecrets(failing.srv.URL), withSecrets(unreachable))
	cfg.MaxAttempts = 2
	cfg.QueueSize = 1
	d, err := New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ { // before Start: the queues of 1 fill and drop
		d.CallBegan(call.CallSummary{CallID: "x"})
	}
	d.Start()
	waitUntil(t, "both URLs to give their event up", func() bool { return d.Stats().GivenUp == 2 })
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	bad.URLs, bad.Secret = []string{"ftp://hookuser:hookpass@127.0.0.1/parley/hook?token=querysecret"}, testSecret
	out := logs.String() + "\n" + bad.Validate().Error()
	for _, want := range []string{"webhook given up", "webhook failed; retrying", "webhook queue full", "connection refused", "127.0.0.1", "/parley/hook", "webhooks.urls[0]"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs and errors lack %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"hookuser", "hookpass", "querysecret", "fragsecret", "token="} {
		if strings.Contains(out, secret) {
			t.Errorf("logs and errors show %q:\n%s", secret, out)
		}
	}
}

// FuzzRedactURL: a redacted URL has no userinfo, query or fragment left.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{
		"https://u:p@hooks.example.com/x?token=t#f", "http://u@127.0.0.1:1/", "http://[::1]:80/a?", "ftp://x", "%zz",
		"http://a b/", "//u:p@host/p", "http://host/p?a=b;c", "http://u:p%40x@host",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		shown := redactURL(raw)
		u, err := url.Parse(shown)
		if err != nil {
			if shown != "(unparsable URL)" {
				t.Fatalf("%q → %q does not parse: %v", raw, shown, err)
			}
			return
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("%q → %q keeps userinfo, query or fragment", raw, shown)
		}
	})
}
