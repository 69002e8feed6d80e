package web

import (
	"testing"
	"time"
)

// busyCallJS calls bob (busy) from the sdkPage app and logs the moment its `await` went on
// as the pseudo-event "resolved" among the engine's events.
const busyCallJS = `(app.events.length = 0, app.engine.call({userId: 'bob', mediaType: 2}).then((r) => {
  app.events.push({name: 'resolved', p: {callId: r.callId, status: app.engine.callStatus}});
  return true;
}))`

// TestBrowserSDKBusyCalleeEventsAfterResult: a busy callee's onUserLineBusy and
// onCallCancelled, which the server may send before the call's result, reach the app after
// its `await call()` went on, with that call's callId, and the engine ends idle (D211).
// Before, they were reported first (the app could not know the callId yet) and the
// engine then took the result as a new call and stayed 'waiting' for ever.
func TestBrowserSDKBusyCalleeEventsAfterResult(t *testing.T) {
	srv := startTestServer(t, true)
	bs := newBrowsers(t, "alice", "bob", "carol")
	alice, bob, carol := bs[0], bs[1], bs[2]
	for _, b := range bs {
		sdkPage(b, srv.URL, b.name)
	}
	eval[bool](carol, `app.engine.call({userId: 'bob', mediaType: 1}).then(() => true)`)
	waitFor[bool](bob, "carol's invitation", `app.has('onCallReceived')`, 20*time.Second)
	for i := 0; i < 3; i++ {
		eval[bool](alice, busyCallJS)
		waitFor[bool](alice, "onCallCancelled", `app.has('onCallCancelled') && app.has('resolved')`, 20*time.Second)
		got := eval[[]string](alice, `app.events.map((e) => e.name)`)
		want := []string{"resolved", "onUserLineBusy", "onCallCancelled"}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("call %d: alice's app saw %v, want %v", i, got, want)
		}
		if !eval[bool](alice, `app.events.every((e) => e.p.callId === app.events[0].p.callId)`) {
			t.Errorf("call %d: the events name another call: %s", i, eval[string](alice, `JSON.stringify(app.events)`))
		}
		if s := eval[string](alice, `app.engine.callStatus`); s != "idle" {
			t.Fatalf("call %d: alice's engine is %q after the busy call, want idle", i, s)
		}
	}
	if s := eval[string](bob, `app.engine.callStatus`); s != "waiting" {
		t.Errorf("bob's ringing call became %q, want it untouched (waiting)", s)
	}
}

// kitToastJS is the kit's toast text while it shows ("" when hidden or covered by nothing).
const kitToastJS = `(() => {
  const el = ` + kitJS + `.shadowRoot.querySelector('.toast');
  return el && !el.hidden && el.getClientRects().length > 0 ? el.textContent : '';
})()`

// TestKitCallsBusyCallee: the kit calling a busy user goes back to IDLE (D211; before, it
// stayed on "Calling bob…" for ever) and says why on the page after its call screen closed,
// as for a reject; afterCalling names the reason (D212).
func TestKitCallsBusyCallee(t *testing.T) {
	srv := startTestServer(t, true)
	bs := kitBrowsers(t, srv, "alice", "bob", "carol")
	alice, bob, carol := bs[0], bs[1], bs[2]
	eval[bool](alice, `(window.after = [], `+kitJS+`.addEventListener('afterCalling', (e) => window.after.push(e.detail.reason)), true)`)
	eval[bool](carol, kitJS+`.call({userId: 'bob', type: 1}).then(() => true)`)
	waitKitStatus(bob, "BE_INVITED")
	eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
	waitKitStatus(alice, "IDLE")
	if got := waitFor[string](alice, "the busy toast", kitToastJS, kitWait); got != "bob is busy" {
		t.Errorf("alice's toast says %q, want \"bob is busy\"", got)
	}
	eval[bool](carol, kitJS+`.hangup().then(() => true)`)
	waitKitStatus(bob, "IDLE")

	eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
	waitKitStatus(bob, "BE_INVITED")
	eval[bool](bob, kitJS+`.reject().then(() => true)`)
	waitKitStatus(alice, "IDLE")
	waitFor[bool](alice, "the reject toast", kitToastJS+` === 'bob rejected the call'`, kitWait)
	if got := eval[[]string](alice, `window.after`); len(got) != 2 || got[0] != "busy" || got[1] != "rejected" {
		t.Errorf("alice's afterCalling reasons %q, want [busy rejected]", got)
	}
	kitNoErrors(t, alice, bob, carol)
}
