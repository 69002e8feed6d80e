package web

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/parley-rtc/parley/internal/teststack"
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling"
)

// chromiumPath is the browser the tests drive (Debian package chromium; `make test`
// installs it).
const chromiumPath = "/usr/bin/chromium"

func testLogger() *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testServer is a whole Parley server in process: media engine, signaling on /ws, WHIP
// and WHEP on /whip/ and /whep/ (docs/whip.md), and this package's handler on /,
// listening on 127.0.0.1.
type testServer struct {
	URL   string
	WHIP  *signaling.WHIP
	Rooms *room.Manager
	// Held records the tracks the server received from early (ringing) call members,
	// once a test turned it on (heldTracks.start).
	Held *heldTracks
	// Sessions is the number of logged-in sessions (signaling.Service.Sessions).
	Sessions func() int
}

func startTestServer(t *testing.T, devMode bool) *testServer {
	t.Helper()
	return startTestServerFor(t, devMode, nil)
}

// startTestServerFor is startTestServer whose signaling.allowed_origins (WebSocket origin
// check and the SDK's CORS) are allowedOrigins.
func startTestServerFor(t *testing.T, devMode bool, allowedOrigins []string) *testServer {
	t.Helper()
	held := &heldTracks{next: testLogger().Handler(), rec: &heldRecord{users: map[string]int{}}}
	logger := slog.New(held)
	engine := teststack.Engine(t, teststack.MediaConfig(), logger) // closed after the cleanup below
	cfg := teststack.ServiceConfig()
	cfg.Auth.DevMode = devMode
	cfg.Signaling.AllowedOrigins = allowedOrigins
	if !devMode {
		cfg.Auth.Apps = []signaling.AppCredential{{SDKAppID: 1400000002, Secret: "a-production-like-secret-0123456789"}}
	}
	svc, err := signaling.NewService(cfg, signaling.Deps{Engine: engine, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{DevMode: devMode, DevSDKAppID: cfg.Auth.Apps[0].SDKAppID, AllowedOrigins: allowedOrigins, Logger: logger}
	if devMode {
		verifier, err := signaling.NewVerifier(cfg.Auth)
		if err != nil {
			t.Fatal(err)
		}
		opts.MintUserSig = verifier.Mint
		opts.MintRoomGrant = verifier.MintRoomGrant
	}
	whip, err := svc.NewWHIP(signaling.DefaultWHIPConfig())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", svc.Handler())
	mux.Handle("/whip/", whip)
	mux.Handle("/whep/", whip)
	mux.Handle("/", Handler(opts))
	srv := httptest.NewServer(mux) // binds 127.0.0.1
	t.Cleanup(func() {
		if err := whip.Close(); err != nil {
			t.Errorf("whip close: %v", err)
		}
		if err := svc.Close(); err != nil {
			t.Errorf("signaling close: %v", err)
		}
		srv.Close()
	})
	return &testServer{URL: srv.URL, WHIP: whip, Rooms: svc.Rooms(), Held: held, Sessions: svc.Sessions}
}

// heldTracks is the test server's slog.Handler in front of testLogger's: once started it
// counts, per user, the room's debug lines `early media timeline` with step `track
// published` and held=true (room/timeline.go): a track whose first RTP packet reached the
// server while that user's call had not begun for it. Other records pass on unchanged.
type heldTracks struct {
	next  slog.Handler
	rec   *heldRecord
	attrs []slog.Attr // of WithAttrs (the room's participant logger carries user=…)
}

type heldRecord struct {
	on    atomic.Bool
	mu    sync.Mutex
	users map[string]int
}

// start turns the recording on (debug records are built from now on).
func (h *heldTracks) start() { h.rec.on.Store(true) }

// count is how many held tracks of userID the server received since start.
func (h *heldTracks) count(userID string) int {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return h.rec.users[userID]
}

func (h *heldTracks) Enabled(ctx context.Context, l slog.Level) bool {
	return h.rec.on.Load() || h.next.Enabled(ctx, l)
}

func (h *heldTracks) Handle(ctx context.Context, r slog.Record) error {
	if h.rec.on.Load() && r.Message == "early media timeline" {
		var user, step string
		var held bool
		note := func(a slog.Attr) bool {
			switch a.Key {
			case "user":
				user = a.Value.String()
			case "step":
				step = a.Value.String()
			case "held":
				held = a.Value.Kind() == slog.KindBool && a.Value.Bool()
			}
			return true
		}
		for _, a := range h.attrs {
			note(a)
		}
		r.Attrs(note)
		if step == room.StepTrackPublished && held {
			h.rec.mu.Lock()
			h.rec.users[user]++
			h.rec.mu.Unlock()
		}
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *heldTracks) WithAttrs(as []slog.Attr) slog.Handler {
	return &heldTracks{next: h.next.WithAttrs(as), rec: h.rec, attrs: append(slices.Clone(h.attrs), as...)}
}

func (h *heldTracks) WithGroup(name string) slog.Handler {
	return &heldTracks{next: h.next.WithGroup(name), rec: h.rec, attrs: h.attrs}
}

// writeSineWAV writes a 48 kHz mono 16-bit WAV of a 440 Hz sine at −20 dBFS: Chromium's
// fake microphone plays it in a loop, so the published audio level is deterministic.
func writeSineWAV(path string, seconds int) error {
	const rate = 48000
	n := rate * seconds
	amplitude := math.Pow(10, -20.0/20) * 32767
	data := make([]byte, 44+2*n)
	copy(data[0:], "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1) // PCM
	binary.LittleEndian.PutUint16(data[22:], 1) // mono
	binary.LittleEndian.PutUint32(data[24:], rate)
	binary.LittleEndian.PutUint32(data[28:], rate*2)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*n))
	for i := 0; i < n; i++ {
		v := int16(math.Round(amplitude * math.Sin(2*math.Pi*440*float64(i)/rate)))
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(v))
	}
	return os.WriteFile(path, data, 0o644)
}

// newBrowsers starts one browser per name (newBrowser), whose fake microphones all play
// the sine of writeSineWAV.
func newBrowsers(t *testing.T, names ...string) []*browser {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "sine-440hz-20dbfs.wav")
	if err := writeSineWAV(wav, 10); err != nil {
		t.Fatal(err)
	}
	bs := make([]*browser, len(names))
	for i, name := range names {
		bs[i] = newBrowser(t, name, wav)
	}
	return bs
}

// browser is one headless Chromium with one tab.
type browser struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu     sync.Mutex
	done   bool
	output []string // console messages and exceptions of the page
}

// newBrowser starts Chromium with a fake camera and a fake microphone playing wavPath.
// The browser stops when the test ends.
func newBrowser(t *testing.T, name, wavPath string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is required for the browser tests: %v (run `make deps` or apt-get install chromium)", err)
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("unshare is required: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("use-fake-device-for-media-stream", "fps=30"),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", wavPath),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t, name: name}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	b.ctx = ctx
	t.Cleanup(func() {
		b.mu.Lock()
		b.done = true
		b.mu.Unlock()
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("%s: stop browser: %v", name, err)
		}
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser and its tab
		t.Fatalf("%s: start Chromium: %v", name, err)
	}
	return b
}

// listen keeps the page's console output (it runs on chromedp's reader goroutine).
func (b *browser) listen(ev any) {
	var line string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		line = fmt.Sprintf("console.%s:", e.Type)
		for _, a := range e.Args {
			if len(a.Value) > 0 {
				line += " " + string(a.Value)
			} else {
				line += " " + a.Description
			}
		}
	case *runtime.EventExceptionThrown:
		line = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			line += " " + e.ExceptionDetails.Exception.Description
		}
	default:
		return
	}
	b.mu.Lock()
	if !b.done {
		b.output = append(b.output, line)
	}
	b.mu.Unlock()
}

// dumpOutput logs the page's console output (on failure, for diagnosis).
func (b *browser) dumpOutput() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.output {
		b.t.Logf("%s page: %s", b.name, l)
	}
}

// outputContains reports whether a console message or exception of the page contains s.
func (b *browser) outputContains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.output {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// do runs chromedp steps with a deadline.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.dumpOutput()
		b.t.Fatalf("%s: %v", b.name, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) and returns its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	return evalWithin[T](b, expr, 30*time.Second)
}

// evalWithin is eval with a deadline d, for a promise that takes long (or a page whose
// main thread is busy for long stretches).
func evalWithin[T any](b *browser, expr string, d time.Duration) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.dumpOutput()
		b.t.Fatalf("%s: evaluate %s: %v", b.name, expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it returns a non-zero value of T or the
// deadline passes, and returns that value.
// poll evaluates the boolean expr until it is true (true) or deadline passes (false).
func poll(b *browser, expr string, deadline time.Duration) bool {
	b.t.Helper()
	for end := time.Now().Add(deadline); ; time.Sleep(100 * time.Millisecond) {
		if eval[bool](b, expr) {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

func waitFor[T comparable](b *browser, what, expr string, deadline time.Duration) T {
	b.t.Helper()
	var zero T
	end := time.Now().Add(deadline)
	for {
		v := eval[T](b, expr)
		if v != zero {
			return v
		}
		if time.Now().After(end) {
			b.dumpOutput()
			b.t.Fatalf("%s: timed out after %s waiting for %s (%s)", b.name, deadline, what, expr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// screenshot writes a PNG of the page to each directory.
func (b *browser) screenshot(file string, dirs ...string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("screenshot: %s", path)
	}
}
