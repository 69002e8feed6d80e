package web

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The call kit's tests drive the demo page at / (web/demo/), which is built on
// <parley-call-kit> (web/kit/). kitWait is the deadline of each step: generous, the
// machine is shared.
const kitWait = 45 * time.Second

// kitJS is the kit element of the page.
const kitJS = `window.parleyDemo.kit`

// kitButtonJS finds the kit's visible button for action (shadow DOM).
func kitButtonJS(action string) string {
	return fmt.Sprintf(`[...%s.shadowRoot.querySelectorAll('[data-action=%q]')].find((el) => el.getClientRects().length > 0)`, kitJS, action)
}

// kitSignIn opens the demo page and signs userID in (voice processing off: deterministic
// audio levels).
func kitSignIn(b *browser, baseURL, userID string) {
	b.t.Helper()
	b.do(
		chromedp.Navigate(baseURL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#signin-form")),
		chromedp.SetValue(chromedp.CSS("#user-id"), userID),
		chromedp.Click(chromedp.CSS("#voice-processing")),
		chromedp.Click(chromedp.CSS("#signin-button")),
	)
	waitFor[bool](b, "the lobby", `window.parleyDemo.state.view === 'lobby'`, kitWait)
}

// kitBrowsers starts one browser per name and signs each in on the demo page.
func kitBrowsers(t *testing.T, srv *testServer, names ...string) []*browser {
	t.Helper()
	bs := newBrowsers(t, names...)
	for _, b := range bs {
		kitSignIn(b, srv.URL, b.name)
	}
	return bs
}

// waitKitStatus waits until the kit's status is status.
func waitKitStatus(b *browser, status string) {
	b.t.Helper()
	waitFor[bool](b, "kit status "+status, fmt.Sprintf(`%s.status === %q`, kitJS, status), kitWait)
}

// kitClick clicks the kit's visible button for action with the mouse, after checking
// that it lies inside the viewport (not below the fold).
func kitClick(b *browser, action string) {
	b.t.Helper()
	type rect struct{ X, Y, Bottom, Right, VH, VW float64 }
	r := waitFor[rect](b, "the "+action+" button", fmt.Sprintf(`(() => {
	  const el = %s;
	  if (!el || el.disabled) return {x: 0, y: 0, bottom: 0, right: 0, vh: 0, vw: 0};
	  const r = el.getBoundingClientRect();
	  return {x: r.left + r.width / 2, y: r.top + r.height / 2, bottom: r.bottom, right: r.right, vh: innerHeight, vw: innerWidth};
	})()`, kitButtonJS(action)), kitWait)
	if r.Bottom > r.VH || r.Right > r.VW {
		b.t.Fatalf("%s: the %s button ends at %.0f,%.0f, outside the %.0fx%.0f viewport", b.name, action, r.Right, r.Bottom, r.VW, r.VH)
	}
	b.do(chromedp.MouseClickXY(r.X, r.Y))
}

// kitFocused is the data-action (or the tag) of the element focused in the kit.
const kitFocusedJS = `(() => { const a = ` + kitJS + `.shadowRoot.activeElement; return a ? (a.dataset.action || a.tagName) : ''; })()`

// tabTo presses Tab until the kit's focused control is action (at most 25 times) and
// fails when it never gets there.
func tabTo(b *browser, action string) {
	b.t.Helper()
	for i := 0; i < 25; i++ {
		if eval[string](b, kitFocusedJS) == action {
			return
		}
		b.do(chromedp.KeyEvent(kb.Tab))
	}
	b.t.Fatalf("%s: Tab never reached the %s button (focus on %q)", b.name, action, eval[string](b, kitFocusedJS))
}

// kitNoErrors fails for every error the kit or the engine reported on a page.
func kitNoErrors(t *testing.T, bs ...*browser) {
	t.Helper()
	checkNoErrors(t, bs...)
	for _, b := range bs {
		if got := eval[string](b, `JSON.stringify(window.parleyDemo.events.filter((e) => e.name === 'kitError'))`); got != "[]" {
			t.Errorf("%s: the kit reported errors: %s", b.name, got)
		}
		if got := eval[string](b, `document.getElementById('toast').hidden ? '' : document.getElementById('toast').textContent`); got != "" {
			t.Errorf("%s: the page shows the toast %q", b.name, got)
		}
	}
}

// tileJS is a kit tile of userID.
func tileJS(userID string) string {
	return fmt.Sprintf(`%s.shadowRoot.querySelector('.stage .tile[data-user-id=%q]')`, kitJS, userID)
}

// tilePlayingJS: userID's tile shows a playing video.
func tilePlayingJS(userID string) string {
	return fmt.Sprintf(`(() => { const t = %s; return !!t && !t.classList.contains('no-video') && t.querySelector('video').videoWidth > 0; })()`, tileJS(userID))
}

// kitScreenshot writes the page to the test's artifact directory and, with
// PARLEY_SCREENSHOT_DIR set, there too (docs/screenshots).
func kitScreenshot(t *testing.T, b *browser, file string) {
	t.Helper()
	dirs := []string{t.ArtifactDir()}
	if d := os.Getenv(screenshotDirEnv); d != "" {
		dirs = append(dirs, d)
	}
	time.Sleep(300 * time.Millisecond) // let the last frame paint (a picture, not a condition)
	b.screenshot(file, dirs...)
}

// waitHearing waits until b receives audio at a level that is the other side's sine (not
// silence) and the received bytes keep growing.
func waitHearing(t *testing.T, b *browser) {
	t.Helper()
	waitFor[bool](b, "audible audio", `(async () => { const s = await (`+statsJS+`); return s.audioBytesReceived > 2000 && s.audioLevel > 0.01; })()`, kitWait)
	first := eval[mediaStats](b, statsJS)
	waitFor[bool](b, "more audio", fmt.Sprintf(`(async () => (await (%s)).audioBytesReceived > %d)()`, statsJS, first.AudioBytesReceived), kitWait)
}

// publisherSDPJS is the publisher's local description (a renegotiation changes it).
const publisherSDPJS = `window.parleyDemo.engine._media.peerConnections.publisher.localDescription.sdp`

// TestKitCall: alice calls bob from the demo page's people list; bob's kit rings with
// alice's name and focuses Accept, alice's shows her preview and the hang-up button on
// screen; bob accepts with the keyboard; both see and hear each other with volume and
// network-quality indicators; bob switches his microphone (and camera, with two)
// mid-call without renegotiation and alice keeps hearing him; alice minimizes and
// restores; her kit speaks Chinese after a language switch; bob hangs up with the
// keyboard; no side reports an error; both histories list the call.
func TestKitCall(t *testing.T) {
	srv := startTestServer(t, true)
	bs := kitBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]

	alice.do(
		chromedp.SetValue(chromedp.CSS("#add-user"), "bob"),
		chromedp.Click(chromedp.CSS("#add-form button")),
	)
	waitFor[bool](alice, "bob in the people list", `!!document.querySelector('#people li[data-user-id="bob"]')`, kitWait)
	alice.do(chromedp.Click(chromedp.CSS(`#people li[data-user-id="bob"] button.btn-primary`)))

	// Outgoing: the local preview plays, the callee is named, ringback sounds, and the
	// hang-up button is on screen.
	waitKitStatus(alice, "DIALING_C2C")
	waitFor[bool](alice, "the local preview", tilePlayingJS("alice"), kitWait)
	if got := eval[string](alice, kitJS+`.shadowRoot.querySelector('[data-ref=dialingWho]').textContent`); got != "bob" {
		t.Errorf("alice's outgoing screen names %q, want bob", got)
	}
	waitFor[bool](alice, "the ringback", kitJS+`.bell === 'outgoing'`, kitWait)

	// Incoming: alice's name, the ringtone, and the focus on Accept.
	waitKitStatus(bob, "BE_INVITED")
	if got := eval[string](bob, kitJS+`.shadowRoot.getElementById('in-name').textContent`); got != "alice" {
		t.Errorf("bob's incoming screen names %q, want alice", got)
	}
	waitFor[bool](bob, "the ringtone", kitJS+`.bell === 'incoming'`, kitWait)
	waitFor[bool](bob, "the focus on Accept", kitFocusedJS+` === 'accept'`, kitWait)
	kitScreenshot(t, bob, "kit-incoming.png")
	kitScreenshot(t, alice, "kit-outgoing.png")
	// Every control of the outgoing screen, Hang up included, is inside the viewport, on a
	// desktop window and on phone-sized ones.
	type size struct{ W, H int64 }
	window := eval[size](alice, `({w: innerWidth, h: innerHeight})`)
	for _, vp := range []struct{ w, h int64 }{{0, 0}, {390, 740}, {740, 390}} {
		if vp.w != 0 {
			alice.do(chromedp.EmulateViewport(vp.w, vp.h))
		}
		outside := eval[string](alice, `[...`+kitJS+`.shadowRoot.querySelectorAll('.controls button')].filter((b) => b.getClientRects().length > 0)
		  .filter((b) => { const r = b.getBoundingClientRect(); return r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth; })
		  .map((b) => b.dataset.action).join()`)
		if outside != "" {
			t.Errorf("alice's outgoing screen at %dx%d: controls outside the viewport: %s", vp.w, vp.h, outside)
		}
	}
	alice.do(chromedp.EmulateViewport(window.W, window.H)) // back to the window's size

	// Keyboard-only accept.
	bob.do(chromedp.KeyEvent(kb.Enter))
	for _, b := range bs {
		waitKitStatus(b, "CALLING_C2C_VIDEO")
		if got := eval[string](b, kitJS+`.bell`); got != "" {
			t.Errorf("%s: the %s tone still sounds in the call", b.name, got)
		}
	}
	for _, pair := range [][2]*browser{{alice, bob}, {bob, alice}} {
		me, other := pair[0], pair[1]
		st := waitMediaFlowing(t, me)
		t.Logf("%s receives: %+v", me.name, st)
		waitHearing(t, me)
		waitFor[bool](me, other.name+"'s tile playing", tilePlayingJS(other.name), kitWait)
		waitFor[bool](me, other.name+"'s volume meter moving", tileJS(other.name)+`.querySelector('.volume').getAttribute('aria-valuenow') > 0`, kitWait)
		// The quality a loaded machine measures varies; the tile shows a known one (1..6)
		// and as many bars as it means.
		q := waitFor[int](me, other.name+"'s network quality shown", `Number(`+tileJS(other.name)+`.querySelector('.quality').dataset.quality)`, kitWait)
		if bars := eval[int](me, tileJS(other.name)+`.querySelectorAll('.quality i.lit').length`); bars != []int{0, 4, 3, 2, 1, 1, 0}[q] {
			t.Errorf("%s: %s's quality %d shows %d bars", me.name, other.name, q, bars)
		}
	}
	waitFor[bool](alice, "the call duration", kitJS+`.shadowRoot.querySelector('[data-ref=duration]').textContent >= '00:01'`, kitWait)
	kitScreenshot(t, alice, "kit-1v1.png")

	// Device switch mid-call: the new device's track goes on the same sender.
	sdp := eval[string](bob, publisherSDPJS)
	kitClick(bob, "devices")
	type devices struct{ Cameras, Mics int }
	n := waitFor[devices](bob, "the device lists", kitJS+`.shadowRoot.querySelector('select[data-device=audioinput]').options.length > 1 ? {cameras: `+kitJS+`.shadowRoot.querySelector('select[data-device=videoinput]').options.length, mics: `+kitJS+`.shadowRoot.querySelector('select[data-device=audioinput]').options.length} : {cameras: 0, mics: 0}`, kitWait)
	t.Logf("bob's fake devices: %d cameras, %d microphones", n.Cameras, n.Mics)
	switchTo := func(kind, trackJS string) {
		before := eval[string](bob, trackJS+`.getSettings().deviceId`)
		next := eval[string](bob, fmt.Sprintf(`(() => { const s = %s.shadowRoot.querySelector('select[data-device=%s]');
		  const o = [...s.options].find((o) => o.value !== %q); s.value = o.value; s.dispatchEvent(new Event('change', {bubbles: true})); return o.value; })()`, kitJS, kind, before))
		waitFor[bool](bob, "the "+kind+" switched", fmt.Sprintf(`(() => { const t = %s; return !!t && t.readyState === 'live' && t.getSettings().deviceId === %q; })()`, trackJS, next), kitWait)
	}
	switchTo("audioinput", `window.parleyDemo.engine._local.audio`)
	if n.Cameras > 1 {
		switchTo("videoinput", `window.parleyDemo.engine._local.video`)
	}
	waitHearing(t, alice)
	waitMediaFlowing(t, alice)
	if got := eval[string](bob, publisherSDPJS); got != sdp {
		t.Errorf("bob's publisher renegotiated for the device switch")
	}
	bob.do(chromedp.KeyEvent(kb.Escape)) // closes the device panel
	waitFor[bool](bob, "the device panel closed", kitJS+`.shadowRoot.querySelector('[data-ref=devicePanel]').hidden`, kitWait)

	// The speaker button mutes and unmutes the others' audio.
	remoteAudioMutedJS := `[...window.parleyDemo.engine._remote.values()].filter((r) => r.audioEl).map((r) => r.audioEl.muted).join()`
	kitClick(alice, "speaker")
	waitFor[bool](alice, "bob's audio muted", remoteAudioMutedJS+` === 'true' && (`+kitButtonJS("speaker")+`).getAttribute('aria-label') === 'Unmute speaker'`, kitWait)
	kitClick(alice, "speaker")
	waitFor[bool](alice, "bob's audio playing", remoteAudioMutedJS+` === 'false' && (`+kitButtonJS("speaker")+`).getAttribute('aria-label') === 'Mute speaker'`, kitWait)

	// Minimize: Picture-in-Picture where the browser grants it, else the mini view.
	kitClick(alice, "minimize")
	mode := waitFor[string](alice, "the float window", kitJS+`.floatMode`, kitWait)
	t.Logf("alice minimized as %q", mode)
	waitFor[bool](alice, "onMinimized", `window.parleyDemo.kit.isMinimized`, kitWait)
	eval[bool](alice, kitJS+`.restore().then(() => true)`)
	waitKitStatus(alice, "CALLING_C2C_VIDEO")
	// The mini view (no Picture-in-Picture): it shows bob's video, and Enter restores.
	eval[bool](alice, kitJS+`.enablePictureInPicture(false) || true`)
	kitClick(alice, "minimize")
	waitFor[bool](alice, "the mini view playing bob", kitJS+`.floatMode === 'mini' && `+kitJS+`.shadowRoot.querySelector('[data-ref=miniVideo]').videoWidth > 0`, kitWait)
	if eval[bool](alice, `!`+kitJS+`.shadowRoot.querySelector('[data-ref=call]').hidden`) {
		t.Errorf("alice's call screen still shows while minimized")
	}
	kitScreenshot(t, alice, "kit-minimized.png")
	waitFor[bool](alice, "the focus on the mini view", kitFocusedJS+` === 'SECTION'`, kitWait)
	alice.do(chromedp.KeyEvent(kb.Enter))
	waitFor[bool](alice, "the call restored", `!`+kitJS+`.isMinimized && !`+kitJS+`.shadowRoot.querySelector('[data-ref=call]').hidden`, kitWait)

	// i18n: the page's language select switches the kit.
	setLanguage := func(b *browser, lang string) {
		b.do(chromedp.SetValue(chromedp.CSS("#language"), lang))
		eval[bool](b, `document.getElementById('language').dispatchEvent(new Event('change'))`)
	}
	setLanguage(alice, "zh-cn")
	waitFor[bool](alice, "Chinese labels", `(`+kitButtonJS("mic")+`).getAttribute('aria-label') === '关闭麦克风'`, kitWait)
	setLanguage(alice, "en")
	waitFor[bool](alice, "English labels", `(`+kitButtonJS("mic")+`).getAttribute('aria-label') === 'Mute microphone'`, kitWait)

	// Switch to audio: both kits show an audio call and the cameras close.
	kitClick(alice, "toAudio")
	for _, b := range bs {
		waitKitStatus(b, "CALLING_C2C_AUDIO")
		waitFor[bool](b, "the camera closed", `window.parleyDemo.engine._local.video === null`, kitWait)
	}

	// Keyboard-only hang up on bob's side.
	tabTo(bob, "hangup")
	bob.do(chromedp.KeyEvent(kb.Enter))
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
		waitFor[bool](b, "the devices closed", `window.parleyDemo.engine._local.video === null && window.parleyDemo.engine._local.audio === null`, kitWait)
	}
	kitNoErrors(t, alice, bob)

	// History: both list the call.
	callID := eval[string](alice, `window.parleyDemo.events.find((e) => e.name === 'onCallBegin').payload.callId`)
	for _, b := range bs {
		waitFor[bool](b, "the call in the history", fmt.Sprintf(`(window.parleyDemo.history.refresh(), !!window.parleyDemo.history.shadowRoot.querySelector('li[data-call-id=%q]'))`, callID), kitWait)
	}
	kitScreenshot(t, bob, "kit-history.png")

	// Calling back from the history rings alice; she rejects.
	type point struct{ X, Y float64 }
	p := eval[point](bob, fmt.Sprintf(`(() => { const r = window.parleyDemo.history.shadowRoot.querySelector('li[data-call-id=%q] button').getBoundingClientRect();
	  return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()`, callID))
	bob.do(chromedp.MouseClickXY(p.X, p.Y))
	waitKitStatus(bob, "DIALING_C2C")
	waitKitStatus(alice, "BE_INVITED")
	kitClick(alice, "reject")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}
}

// notificationSpyJS makes the page look hidden and records the system notifications the
// kit shows (window.notes) with permission granted: a headless browser has no
// notification center to look at.
const notificationSpyJS = `(() => {
  Object.defineProperty(document, 'hidden', {get: () => true, configurable: true});
  window.notes = [];
  window.Notification = class { constructor(title, opts) { window.notes.push({title, body: opts.body, open: true}); this.n = window.notes[window.notes.length - 1]; }
    close() { this.n.open = false; } static get permission() { return 'granted'; } static requestPermission() { return Promise.resolve('granted'); } };
  return true;
})()`

// TestKitVoiceAnswerMuteModeBanner: bob's kit speaks Chinese and is in mute mode: alice's
// video call rings without a tone on bob's side (alice hears ringback), the incoming
// screen is in Chinese, bob answers with voice and both hear each other in an audio call
// without cameras. Then bob turns mute mode off and the incoming banner on; with the page
// hidden, alice's next call shows the banner, rings, and raises a system notification;
// bob rejects from the banner and both kits are idle.
func TestKitVoiceAnswerMuteModeBanner(t *testing.T) {
	srv := startTestServer(t, true)
	bs := kitBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	bob.do(chromedp.SetValue(chromedp.CSS("#language"), "zh-cn"), chromedp.Click(chromedp.CSS("#mute-mode")))
	eval[bool](bob, `document.getElementById('language').dispatchEvent(new Event('change'))`)
	waitFor[bool](bob, "the kit in Chinese", kitJS+`.language === 'zh-cn'`, kitWait)

	eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
	waitKitStatus(bob, "BE_INVITED")
	waitFor[bool](alice, "alice's ringback", kitJS+`.bell === 'outgoing'`, kitWait)
	if got := eval[string](bob, kitJS+`.bell`); got != "" {
		t.Errorf("bob's kit in mute mode sounds the %q tone", got)
	}
	if got := eval[string](bob, `(`+kitButtonJS("accept")+`).getAttribute('aria-label')`); got != "接听" {
		t.Errorf("bob's accept button says %q, want 接听", got)
	}
	kitClick(bob, "answerVoice")
	for _, b := range bs {
		waitKitStatus(b, "CALLING_C2C_AUDIO")
	}
	for _, b := range bs {
		waitHearing(t, b)
		waitFor[bool](b, "the camera closed", `window.parleyDemo.engine._local.video === null`, kitWait)
		if eval[bool](b, `!!(`+kitButtonJS("camera")+`)`) {
			t.Errorf("%s: an audio call shows a camera button", b.name)
		}
	}
	kitClick(alice, "hangup")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}

	// The banner: mute mode off, banner on, the page hidden.
	bob.do(chromedp.Click(chromedp.CSS("#mute-mode")), chromedp.Click(chromedp.CSS("#banner")))
	eval[bool](bob, notificationSpyJS)
	eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
	waitKitStatus(bob, "BE_INVITED")
	waitFor[bool](bob, "the banner", `!`+kitJS+`.shadowRoot.querySelector('[data-ref=banner]').hidden && `+kitJS+`.shadowRoot.querySelector('[data-ref=incoming]').hidden`, kitWait)
	waitFor[bool](bob, "the ringtone", kitJS+`.bell === 'incoming'`, kitWait)
	if got := eval[string](bob, `JSON.stringify(window.notes)`); got != `[{"title":"来电","body":"alice 邀请你通话","open":true}]` {
		t.Errorf("bob's notifications: %s", got)
	}
	kitClick(bob, "reject")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}
	if got := eval[string](bob, `JSON.stringify(window.notes.map((n) => n.open))`); got != "[false]" {
		t.Errorf("the notification stayed open after the reject: %s", got)
	}
	kitNoErrors(t, alice, bob)
}

// TestKitGroupCall: alice video-calls bob and carol; both accept; each of the three sees
// the two others in the grid; alice opens the member list and invites dave from it; dave
// accepts and all four see the three others; the speaker view puts one tile on top.
func TestKitGroupCall(t *testing.T) {
	srv := startTestServer(t, true)
	bs := kitBrowsers(t, srv, "alice", "bob", "carol", "dave")
	alice, bob, carol, dave := bs[0], bs[1], bs[2], bs[3]
	eval[bool](alice, `(document.getElementById('add-user').value = 'dave', document.querySelector('#add-form button').click(), true)`)
	waitFor[bool](alice, "dave in alice's people", `window.parleyDemo.kit.contacts.some((c) => c.userId === 'dave')`, kitWait)

	eval[bool](alice, kitJS+`.groupCall({userIdList: ['bob', 'carol'], type: 2}).then(() => true)`)
	waitKitStatus(alice, "DIALING_GROUP")
	for _, b := range []*browser{bob, carol} {
		waitKitStatus(b, "BE_INVITED")
		kitClick(b, "accept")
	}
	sees := func(b *browser, others ...*browser) {
		t.Helper()
		for _, o := range others {
			if o != b {
				waitFor[bool](b, o.name+"'s tile playing", tilePlayingJS(o.name), 60*time.Second)
			}
		}
	}
	for _, b := range []*browser{alice, bob, carol} {
		waitKitStatus(b, "CALLING_GROUP_VIDEO")
		sees(b, alice, bob, carol)
	}

	kitClick(alice, "invite")
	waitFor[bool](alice, "the member list", kitJS+`.shadowRoot.querySelectorAll('[data-ref=memberList] li').length === 3`, kitWait)
	waitFor[bool](alice, "dave offered", `!!`+kitJS+`.shadowRoot.querySelector('[data-invite=dave]')`, kitWait)
	eval[bool](alice, `(`+kitJS+`.shadowRoot.querySelector('[data-invite=dave]').click(), true)`)
	waitKitStatus(dave, "BE_INVITED")
	for _, b := range []*browser{alice, bob, carol} {
		waitFor[bool](b, "dave ringing in the call", tileJS("dave")+` && `+tileJS("dave")+`.classList.contains('ringing')`, kitWait)
	}
	kitClick(dave, "accept")
	for _, b := range bs {
		waitKitStatus(b, "CALLING_GROUP_VIDEO")
		sees(b, bs...)
		if n := eval[int](b, kitJS+`.shadowRoot.querySelectorAll('.stage .tile').length`); n != 4 {
			t.Errorf("%s: %d tiles, want 4", b.name, n)
		}
	}
	waitFor[bool](alice, "dave joined in the member list", kitJS+`.shadowRoot.querySelector('[data-ref=memberList] li[data-user-id=dave] .state').textContent === 'in the call'`, kitWait)
	alice.do(chromedp.KeyEvent(kb.Escape))
	waitFor[bool](alice, "the member list closed", kitJS+`.shadowRoot.querySelector('[data-ref=invitePanel]').hidden`, kitWait)
	if cols := eval[string](alice, kitJS+`.shadowRoot.querySelector('.stage').style.getPropertyValue('--cols')`); cols != "2" {
		t.Errorf("a grid of 4 has %q columns, want 2", cols)
	}
	kitScreenshot(t, alice, "kit-group.png")

	// Bob turns his camera and microphone off: the others see his avatar and the muted
	// microphone; his camera back on, his video plays again on their kept views (D44).
	kitClick(bob, "camera")
	kitClick(bob, "mic")
	waitFor[bool](bob, "the labels saying the next action", `(`+kitButtonJS("camera")+`).getAttribute('aria-label') === 'Turn camera on' && (`+kitButtonJS("mic")+`).getAttribute('aria-label') === 'Unmute microphone'`, kitWait)
	for _, b := range []*browser{alice, carol, dave} {
		waitFor[bool](b, "bob's avatar and muted microphone", tileJS("bob")+`.classList.contains('no-video') && `+tileJS("bob")+`.classList.contains('muted-mic')`, kitWait)
	}
	kitClick(bob, "camera")
	kitClick(bob, "mic")
	for _, b := range []*browser{alice, carol, dave} {
		waitFor[bool](b, "bob's video back", tilePlayingJS("bob")+` && !`+tileJS("bob")+`.classList.contains('muted-mic')`, 60*time.Second)
	}

	kitClick(alice, "layout")
	waitFor[bool](alice, "the speaker view", kitJS+`.shadowRoot.querySelector('.stage').classList.contains('speaker') && `+kitJS+`.shadowRoot.querySelectorAll('.stage .tile.main').length === 1`, kitWait)

	// Full screen and back.
	kitClick(alice, "fullscreen")
	waitFor[bool](alice, "full screen", `document.fullscreenElement === `+kitJS+` && (`+kitButtonJS("fullscreen")+`).getAttribute('aria-label') === 'Exit full screen'`, kitWait)
	kitClick(alice, "fullscreen")
	waitFor[bool](alice, "full screen left", `document.fullscreenElement === null && (`+kitButtonJS("fullscreen")+`).getAttribute('aria-label') === 'Enter full screen'`, kitWait)

	// They hang up one by one; alice, left alone when bob leaves, hears bob leave and then
	// the call end (D240), and her kit shows no tile of bob afterwards.
	for _, b := range []*browser{dave, carol, bob} {
		eval[bool](b, kitJS+`.hangup().then(() => true)`)
		waitKitStatus(b, "IDLE")
	}
	waitKitStatus(alice, "IDLE")
	heard := eval[string](alice, `window.parleyDemo.events.filter((e) => e.name === 'onCallEnd' || (e.name === 'onUserLeave' && e.payload.userId === 'bob')).map((e) => e.name).join(',')`)
	if heard != "onUserLeave,onCallEnd" {
		t.Errorf("alice heard %s of bob's leave and the end, want onUserLeave,onCallEnd", heard)
	}
	if eval[bool](alice, `!!`+tileJS("bob")) {
		t.Error("alice's kit shows bob's tile after the call ended")
	}
	kitNoErrors(t, bs...)
}

// declaredMembers lists the member names declared in class name of a .d.ts file.
func declaredMembers(t *testing.T, path, name string) []string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	body := regexp.MustCompile(`(?s)export declare class ` + name + ` extends HTMLElement \{\n(.*?)\n\}`).FindSubmatch(src)
	if body == nil {
		t.Fatalf("%s declares no class %s", path, name)
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^  (?:readonly )?(\w+)[(:<]`).FindAllSubmatch(body[1], -1) {
		if n := string(m[1]); !seen[n] && n != "addEventListener" {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// TestKitDeclarationsMatchElement: kit/parley-call-kit.d.ts declares exactly the public
// methods, getters and callback properties of <parley-call-kit> and
// <parley-call-history> as the browser sees them (names without a leading underscore;
// custom element callbacks left out). tsc checks the declarations themselves
// (TestSDKTypeScript).
func TestKitDeclarationsMatchElement(t *testing.T) {
	srv := startTestServer(t, true)
	b := newBrowsers(t, "page")[0]
	b.do(chromedp.Navigate(srv.URL + "/"))
	waitFor[bool](b, "the kit defined", `!!customElements.get('parley-call-kit') && !!customElements.get('parley-call-history')`, kitWait)
	tests := []struct{ class, tag string }{
		{class: "ParleyCallKit", tag: "parley-call-kit"},
		{class: "ParleyCallHistory", tag: "parley-call-history"},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			got := eval[[]string](b, fmt.Sprintf(`(() => {
			  const el = document.createElement(%q), names = new Set(Object.keys(el));
			  for (const n of Object.getOwnPropertyNames(customElements.get(%q).prototype)) names.add(n);
			  const internal = ['constructor', 'connectedCallback', 'disconnectedCallback', 'attributeChangedCallback'];
			  return [...names].filter((n) => !n.startsWith('_') && !internal.includes(n)).sort();
			})()`, tt.tag, tt.tag))
			want := declaredMembers(t, "kit/parley-call-kit.d.ts", tt.class)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s members:\n in the browser: %v\n declared:       %v", tt.class, got, want)
			}
		})
	}
}
