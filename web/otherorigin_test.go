package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-rtc/parley/signaling"
)

// onExamplePage rewrites an expression of the demo page's tests (statsJS, eventCountJS)
// for the example page, whose window.parleyExample has the same engine and events members.
func onExamplePage(t *testing.T, expr string) string {
	t.Helper()
	out := strings.ReplaceAll(expr, "window.parleyDemo.", "window.parleyExample.")
	if out == expr {
		t.Fatalf("expression does not use window.parleyDemo: %s", expr)
	}
	return out
}

// mediapipeDir is where scripts/ensure-test-deps.sh installs @mediapipe/selfie_segmentation
// (relative to this package's directory).
const mediapipeDir = "../.cache/mediapipe/node_modules/@mediapipe/selfie_segmentation"

// Example pages of examples/ on the second origin (serveExample).
const (
	sdkExamplePage = "/other-origin/" // the SDK alone
	kitExamplePage = "/call-kit/"     // <parley-call-kit>
)

// serveExample serves the example pages of examples/ on their own origin (another port of
// 127.0.0.1), e.g. sdkExamplePage, and at /mp/ the MediaPipe package when it is installed
// (an app serves its own copy).
func serveExample(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(os.DirFS("examples")))
	mux.Handle("/mp/", http.StripPrefix("/mp/", http.FileServerFS(os.DirFS(mediapipeDir))))
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	return site.URL
}

// requestLogJS wraps the engine's requests so that window.requestLog counts them by method.
const requestLogJS = `(() => { const e = window.parleyExample.engine, req = e._request.bind(e);
  window.requestLog = {};
  e._request = (m, p) => { window.requestLog[m] = (window.requestLog[m] || 0) + 1; return req(m, p); };
  return true; })()`

// startExampleCall opens the example page for alice and bob (openExamplePages) and has
// alice video-call bob, who accepts on the page.
func startExampleCall(t *testing.T) (alice, bob *browser) {
	t.Helper()
	alice, bob = openExamplePages(t, sdkExamplePage)
	alice.do(
		chromedp.SetValue(chromedp.CSS("#callee"), "bob"),
		chromedp.Click(chromedp.CSS("#call-video")),
	)
	waitFor[bool](bob, "the incoming call", `!document.getElementById('incoming').hidden && document.getElementById('caller').textContent === 'alice'`, 20*time.Second)
	bob.do(chromedp.Click(chromedp.CSS("#accept")))
	for _, b := range []*browser{alice, bob} {
		waitFor[int](b, "onCallBegin", onExamplePage(t, eventCountJS("onCallBegin", "p.mediaType === 2")), 20*time.Second)
	}
	return alice, bob
}

// openExamplePages starts a Parley server whose allowed_origins is a second origin that
// serves the example pages, opens page there in two browsers (it imports the SDK, and the
// kit page the kit, from the Parley server, cross-origin), logs alice and bob in through
// the page's form with userSigs minted here (as an app's backend would) and counts their
// requests (requestLogJS).
func openExamplePages(t *testing.T, page string) (alice, bob *browser) {
	t.Helper()
	site := serveExample(t)
	srv := startTestServerFor(t, true, []string{site})
	bs := newBrowsers(t, "alice", "bob")
	alice, bob = bs[0], bs[1]
	for _, b := range bs {
		sig, err := devVerifier(t).Mint(signaling.DevSDKAppID, b.name, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b.do(
			chromedp.Navigate(site+page+"?server="+srv.URL),
			chromedp.WaitVisible(chromedp.CSS("#login")),
		)
		waitFor[bool](b, "the SDK imported from "+srv.URL, `!!window.parleyExample`, 20*time.Second)
		b.do(
			chromedp.SetValue(chromedp.CSS("#sdk-app-id"), fmt.Sprint(signaling.DevSDKAppID)),
			chromedp.SetValue(chromedp.CSS("#user-id"), b.name),
			chromedp.SetValue(chromedp.CSS("#user-sig"), sig),
			chromedp.Click(chromedp.CSS("#login button")),
		)
		waitFor[int](b, "onSdkReady", onExamplePage(t, eventCountJS("onSdkReady", "")), 20*time.Second)
		eval[bool](b, requestLogJS)
	}
	return alice, bob
}

// statusesJS lists the statuses of the page's onCallStatusChanged events.
const statusesJS = `window.parleyExample.events.filter((e) => e.name === 'onCallStatusChanged').map((e) => e.payload.previous + '>' + e.payload.status).join(' ')`

// TestBrowserSDKOtherOrigin: an app page on another origin imports the SDK from the
// server's /sdk/ (CORS for signaling.allowed_origins) and makes a 1v1 video call through
// it: both decode and hear each other; callStatus and onCallStatusChanged go idle →
// waiting → connected → idle on both sides; the remote view's callback reports loading,
// then playing, and a startRemoteView the server refuses reports onError. A page of an origin that
// is not allowed cannot import the SDK.
func TestBrowserSDKOtherOrigin(t *testing.T) {
	alice, bob := startExampleCall(t)
	stats := onExamplePage(t, statsJS)
	for _, b := range []*browser{alice, bob} {
		st := waitMediaFlowingOf(t, b, stats)
		t.Logf("%s receives: %+v", b.name, st)
		if got := eval[string](b, `window.parleyExample.engine.callStatus`); got != "connected" {
			t.Errorf("%s: callStatus %q in the call, want connected", b.name, got)
		}
		if got := eval[string](b, statusesJS); got != "idle>waiting waiting>connected" {
			t.Errorf("%s: status changes %q, want idle>waiting waiting>connected", b.name, got)
		}
	}
	// The example page's view callback: loading first, then playing (bob's video plays).
	waitFor[bool](alice, "the remote view playing", `document.getElementById('view-state').textContent === 'playing'`, 20*time.Second)
	if got := eval[string](alice, `window.parleyExample.events.filter((e) => e.name === 'view').map((e) => e.payload.state + ':' + e.payload.userId).join(' ')`); !strings.HasPrefix(got, "loading:bob") || !strings.Contains(got, "playing:bob") {
		t.Errorf("remote view callbacks %q, want loading:bob first, then playing:bob", got)
	}

	// A startRemoteView the server refuses (a view of oneself: invalid params) reports onError.
	got := eval[string](alice, `(async () => {
	  const seen = [];
	  const el = document.createElement('div');
	  const err = await window.parleyExample.engine.startRemoteView({userId: 'alice', element: el,
	    callback: {onError: (e) => seen.push(e.userId + ':' + e.code)}}).then(() => 'resolved', (e) => String(e.code));
	  return err + ' ' + seen.join();
	})()`)
	if got != "-32602 alice:-32602" {
		t.Errorf("startRemoteView of oneself: %q, want the rejection and onError with -32602", got)
	}

	alice.do(chromedp.Click(chromedp.CSS("#hangup")))
	for _, b := range []*browser{alice, bob} {
		waitFor[bool](b, "idle after the hangup", `window.parleyExample.engine.callStatus === 'idle' && window.parleyExample.engine.getCallStatus() === 'idle'`, 20*time.Second)
		if got := eval[string](b, statusesJS); got != "idle>waiting waiting>connected connected>idle" {
			t.Errorf("%s: status changes %q, want idle>waiting waiting>connected connected>idle", b.name, got)
		}
	}
	checkNoErrors(t, withExampleEvents(alice), withExampleEvents(bob))

	// A page of an origin that is not in allowed_origins: the browser refuses the module.
	other := serveExample(t)
	sdkURL := eval[string](alice, `new URL('/sdk/parley.js', window.parleyServer).href`)
	bob.do(chromedp.Navigate(other + sdkExamplePage + "?server=http://127.0.0.1:1"))
	if got := eval[string](bob, fmt.Sprintf(`import(%q).then(() => 'imported', () => 'refused')`, sdkURL)); got != "refused" {
		t.Errorf("a page of %s importing %s: %s, want refused", other, sdkURL, got)
	}
}

// withExampleEvents points window.parleyDemo at the example page's engine and events, so
// checkNoErrors (written for the demo page) reads them.
func withExampleEvents(b *browser) *browser {
	eval[bool](b, `(window.parleyDemo = window.parleyExample, true)`)
	return b
}

// TestKitOtherOrigin: an app page on another origin drops <parley-call-kit> in, with the
// kit and the SDK from the server's /kit/ and /sdk/ through its import map (CORS for
// signaling.allowed_origins); alice calls bob through the page, bob's kit rings and he
// accepts on it, both see and hear each other, alice hangs up on her kit, and neither the
// kit nor the engine reports an error.
func TestKitOtherOrigin(t *testing.T) {
	alice, bob := openExamplePages(t, kitExamplePage)
	alice.do(
		chromedp.SetValue(chromedp.CSS("#callee"), "bob"),
		chromedp.Click(chromedp.CSS("#call-video")),
	)
	waitKitStatus(alice, "DIALING_C2C")
	waitKitStatus(bob, "BE_INVITED")
	if got := eval[string](bob, kitJS+`.shadowRoot.getElementById('in-name').textContent`); got != "alice" {
		t.Errorf("bob's incoming screen names %q, want alice", got)
	}
	kitClick(bob, "accept")
	for _, b := range []*browser{alice, bob} {
		waitKitStatus(b, "CALLING_C2C_VIDEO")
		waitHearing(t, b)
	}
	waitFor[bool](alice, "bob's video in alice's kit", tilePlayingJS("bob"), kitWait)
	waitFor[bool](bob, "alice's video in bob's kit", tilePlayingJS("alice"), kitWait)

	kitClick(alice, "hangup")
	for _, b := range []*browser{alice, bob} {
		waitKitStatus(b, "IDLE")
	}
	kitNoErrors(t, alice, bob)
}
