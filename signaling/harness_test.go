package signaling_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/internal/teststack"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// testClock is real time plus an offset the test can advance (for totalTime).
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// stack is a whole Parley server in process: media engine, signaling service, /ws.
type stack struct {
	t       testing.TB
	engine  *sfu.Engine
	service *signaling.Service
	http    *httptest.Server
	clock   *testClock
	url     string
	records *signaling.MemoryRecords
	// nodes, in a cluster (cluster_harness_test.go): every node's stack, this one first;
	// dial picks them in turn.
	nodes []*stack
	dials atomic.Int64
	cl    *cluster.Cluster   // this node's cluster membership (nil: a single node)
	redis *testservers.Redis // the cluster's Redis (nil: a single node)
	// media is the node the rooms are placed on (newPlacedClusterStack), not dialled.
	media *stack
	// extraLoad is added to the rooms the node registers as its load (cluster tests).
	extraLoad atomic.Int64
	// mux serves the node's HTTP endpoints (GET /ws; tests may mount more).
	mux *http.ServeMux
	// roomless marks a placed cluster whose test opens no room (its media node hosts nobody).
	roomless bool
	// offline lists the invitee-offline hook calls of this node (D9).
	offline *offlineHooks
}

// offlineHooks records the service's InviteeOffline calls ("callId invitee") and the
// call summaries behind the call_began / call_ended webhooks (D22).
type offlineHooks struct {
	mu           sync.Mutex
	calls        []string
	began, ended []call.CallSummary
}

func (h *offlineHooks) CallBegan(s call.CallSummary) {
	h.mu.Lock()
	h.began = append(h.began, s)
	h.mu.Unlock()
}

func (h *offlineHooks) CallEnded(s call.CallSummary) {
	h.mu.Lock()
	h.ended = append(h.ended, s)
	h.mu.Unlock()
}

// summaries returns the began and ended summaries of callID so far.
func (h *offlineHooks) summaries(callID string) (began, ended []call.CallSummary) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.began {
		if s.CallID == callID {
			began = append(began, s)
		}
	}
	for _, s := range h.ended {
		if s.CallID == callID {
			ended = append(ended, s)
		}
	}
	return began, ended
}
func (h *offlineHooks) InviteeOffline(_ int, callID, invitee string, _ protocol.CallReceivedEvent) {
	h.mu.Lock()
	h.calls = append(h.calls, callID+" "+invitee)
	h.mu.Unlock()
}

// reports counts the InviteeOffline calls for invitee in callID.
func (h *offlineHooks) reports(callID, invitee string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		if c == callID+" "+invitee {
			n++
		}
	}
	return n
}

type signalingConfig = signaling.ServiceConfig

type stackOption func(*signalingConfig)

const protocolDevApp = signaling.DevSDKAppID

func testLogger() *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newStack(t testing.TB, opts ...stackOption) *stack {
	t.Helper()
	return newStackRTC(t, nil, opts...)
}

// newStackRTC is newStack whose media configuration rtcOpt changes first (when not nil).
func newStackRTC(t testing.TB, rtcOpt func(*sfu.Config), opts ...stackOption) *stack {
	t.Helper()
	return buildStack(t, rtcOpt, nil, opts...)
}

// buildStack is newStackRTC of a node that joins cluster cl (nil: a single node).
func buildStack(t testing.TB, rtcOpt func(*sfu.Config), cl *cluster.Cluster, opts ...stackOption) *stack {
	t.Helper()
	engine := teststack.Engine(t, teststack.MediaConfig(rtcOpt), testLogger()) // closed after the cleanup below
	cfg := teststack.ServiceConfig()
	cfg.Room.EmptyTimeout = time.Second
	for _, o := range opts {
		o(&cfg)
	}
	st := &stack{t: t, engine: engine, clock: &testClock{}, records: signaling.NewMemoryRecords(0), offline: &offlineHooks{}}
	svc, err := signaling.NewService(cfg, signaling.Deps{Engine: engine, Logger: testLogger(), Now: st.clock.Now, Records: st.records, Cluster: cl, Hooks: st.offline})
	if err != nil {
		t.Fatal(err)
	}
	st.service = svc
	st.cl = cl
	mux := http.NewServeMux()
	mux.Handle("GET /ws", svc.Handler())
	st.mux, st.http = mux, httptest.NewServer(mux)
	st.url = "ws" + strings.TrimPrefix(st.http.URL, "http") + "/ws"
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Errorf("service close: %v", err)
		}
		st.http.Close()
	})
	return st
}

// manyInvitations lifts limits.invitations_* for tests that make calls in a loop.
func manyInvitations(c *signalingConfig) {
	c.Limits.InvitationsPerMinute, c.Limits.InvitationsBurst = 100_000, 100_000
}

// manyLogins lifts limits.logins_* and limits.connection_logins_* for tests that log
// in and out in a loop on one socket (D193).
func manyLogins(c *signalingConfig) {
	c.Limits.LoginsPerMinute, c.Limits.LoginsBurst = 100_000, 100_000
	c.Limits.ConnectionLoginsPerMinute, c.Limits.ConnectionLoginsBurst = 100_000, 100_000
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// shortSigTTL is the life of a userSig a test lets expire: it is minted before the login
// request and must outlast that login (and the requests the test makes before it expires)
// on a busy CI machine, where one request may take seconds; 2 s once expired before the
// server saw the login.
const shortSigTTL = 8 * time.Second

// shortSigGrace is auth.sig_expiry_grace for tests that act in the grace (a request after
// onUserSigExpired must land before the grace ends, also under load).
const shortSigGrace = 5 * time.Second

func sig(t testing.TB, userID string, ttl time.Duration) string {
	t.Helper()
	s, err := signaling.MintUserSig(signaling.DevSDKAppID, []byte(signaling.DevSecret), userID, ttl, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dial opens a connection without logging in (in a cluster: to the next node in turn).
func (st *stack) dial(t testing.TB) *client.Conn {
	t.Helper()
	url := st.url
	if len(st.nodes) > 0 {
		url = st.nodes[int(st.dials.Add(1))%len(st.nodes)].url // n1, n2, n0, n1, …
	}
	c, err := client.Dial(ctxT(t, 10*time.Second), url, client.Options{Peer: client.PeerConfig{Loopback: true}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// login dials and logs userID in.
func (st *stack) login(t testing.TB, userID string) *client.Conn {
	t.Helper()
	c := st.dial(t)
	if _, err := c.Login(ctxT(t, 10*time.Second), signaling.DevSDKAppID, userID, sig(t, userID, time.Hour)); err != nil {
		t.Fatalf("login %s: %v", userID, err)
	}
	if _, err := c.WaitEvent(ctxT(t, 5*time.Second), protocol.EventSdkReady, nil); err != nil {
		t.Fatalf("%s: no onSdkReady: %v", userID, err)
	}
	return c
}

// wantCode asserts err is a protocol error with code.
func wantCode(t *testing.T, err error, code int) *protocol.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want error code %d, got success", code)
	}
	perr, ok := protocolError(err)
	if !ok {
		t.Fatalf("want protocol error %d, got %v", code, err)
	}
	if perr.Code != code {
		t.Fatalf("want code %d, got %d (%s)", code, perr.Code, perr.Message)
	}
	return perr
}

func protocolError(err error) (*protocol.Error, bool) {
	for e := err; e != nil; {
		if p, ok := e.(*protocol.Error); ok {
			return p, true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return nil, false
		}
		e = u.Unwrap()
	}
	return nil, false
}

// waitFor decodes the next event name of c into T, failing the test on timeout.
func waitFor[T any](t testing.TB, c *client.Conn, name string, match func(T) bool) T {
	t.Helper()
	v, err := client.WaitFor(ctxT(t, 15*time.Second), c, name, match)
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v\nevents: %s", c.UserID(), name, err, eventNames(c))
	}
	return v
}

func eventNames(c *client.Conn) string {
	var names []string
	for _, e := range c.Events() {
		if e.Name != protocol.MethodTrickle {
			names = append(names, e.Name)
		}
	}
	return strings.Join(names, ",")
}

func goroutines() int { return runtime.NumGoroutine() }

// grant mints a room grant of the development app for userID in roomID.
func grant(t testing.TB, userID string, roomID protocol.RoomID, rights protocol.RoomRights) string {
	t.Helper()
	g, err := signaling.MintRoomGrant(signaling.DevSDKAppID, []byte(signaling.DevSecret), userID, roomID, rights, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// joinRoomGranted joins c (a user of the development app) to roomID with a grant of
// publish and subscribe (D27).
func joinRoomGranted(ctx context.Context, t testing.TB, c *client.Conn, roomID protocol.RoomID) error {
	t.Helper()
	return <-joinRoomAsync(ctx, t, c, roomID)
}

// joinRoomAsync sends joinRoomGranted from another goroutine; the channel gets its answer.
func joinRoomAsync(ctx context.Context, t testing.TB, c *client.Conn, roomID protocol.RoomID) <-chan error {
	t.Helper()
	p := protocol.JoinRoomParams{RoomID: roomID, RoomGrant: grant(t, c.UserID(), roomID, protocol.RoomRights{Publish: true, Subscribe: true})}
	answer := make(chan error, 1)
	go func() { answer <- c.Request(ctx, protocol.MethodJoinRoom, p, nil) }()
	return answer
}

// waitPublishing waits until c's publisher PeerConnection is connected and has sent more
// than n packets of audio and of video.
func waitPublishing(t *testing.T, c *client.Conn, n uint32) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		pub := c.Publisher()
		if pub != nil && pub.ConnectionState() == webrtc.PeerConnectionStateConnected && pub.Stats().AudioPackets > n && pub.Stats().VideoPackets > n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the publisher never connected and sent %d packets", c.UserID(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hookGate holds the first run of a Service hook (SetBeforeJoin, SetBeforeLeave) for one
// user until the test opens it: entered is closed once it holds. The gate opens at the
// test's end at the latest (a cleanup registered after the stack's runs before its Close,
// which would wait for the held effect).
type hookGate struct {
	user             string
	entered, release chan struct{}
	hold, open       sync.Once
}

func newHookGate(t testing.TB, userID string) *hookGate {
	g := &hookGate{user: userID, entered: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(g.Open)
	return g
}

// Hook is the function to install.
func (g *hookGate) Hook(userID string) {
	if userID == g.user {
		g.hold.Do(func() { close(g.entered); <-g.release })
	}
}

// Wait returns once the hook holds, or fails the test when ctx ends first.
func (g *hookGate) Wait(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-g.entered:
	case <-ctx.Done():
		t.Fatalf("%s never started", what)
	}
}

// Open lets the held hook (and every later one) go.
func (g *hookGate) Open() { g.open.Do(func() { close(g.release) }) }
