package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// afterEndJS has the page's engine, from its onCallEnd and onUserLeave handlers (as
// TUICallKit apps do when the other side hangs up), stop the other user's view, change its
// quality, start it again and close the devices; window.afterEnd lists each call's outcome
// as "event:method:ok" or "event:method:<error code>", window.heard the two events in the
// order the app got them, and window.viewsAtEnd the view requests sent before onCallEnd.
const afterEndJS = `(() => {
  const e = window.parleyExample.engine;
  window.afterEnd = [];
  window.heard = [];
  const run = (event) => (p) => {
    window.heard.push(event === 'onUserLeave' ? event + ':' + p.userId : event);
    if (event === 'onCallEnd') window.viewsAtEnd = ` + viewRequestsJS + `;
    const calls = {
      stopRemoteView: () => e.stopRemoteView({userId: 'bob'}),
      setRemoteViewQuality: () => e.setRemoteViewQuality({userId: 'bob', width: 320, height: 180}),
      startRemoteView: () => e.startRemoteView({userId: 'bob', element: document.createElement('div')}),
      closeCamera: () => e.closeCamera(),
      closeMicrophone: () => e.closeMicrophone(),
    };
    for (const [name, f] of Object.entries(calls)) {
      f().then(() => window.afterEnd.push(event + ':' + name + ':ok'),
        (err) => window.afterEnd.push(event + ':' + name + ':' + err.code));
    }
  };
  e.on('onCallEnd', run('onCallEnd'));
  e.on('onUserLeave', run('onUserLeave'));
  return true;
})()`

// viewRequestsJS counts the view requests the page's engine sent.
const viewRequestsJS = `(window.requestLog.stopRemoteView || 0) + (window.requestLog.startRemoteView || 0) + (window.requestLog.setRemoteViewQuality || 0)`

// TestBrowserSDKViewsAfterCallEnd: the other side hangs up; the app hears onUserLeave(bob)
// and then onCallEnd, once each (D240), and the view and device methods it calls from
// those handlers resolve without an error (none says "not in a room"), with no view
// request sent after the end (D75).
func TestBrowserSDKViewsAfterCallEnd(t *testing.T) {
	alice, bob := startExampleCall(t)
	waitMediaFlowingOf(t, alice, onExamplePage(t, statsJS))
	eval[bool](alice, afterEndJS)

	bob.do(chromedp.Click(chromedp.CSS("#hangup")))
	waitFor[bool](alice, "idle after bob hung up", `window.parleyExample.engine.callStatus === 'idle'`, 20*time.Second)
	waitFor[bool](alice, "the handlers' calls settled", `window.afterEnd.length === 10`, 20*time.Second)
	for _, got := range eval[[]string](alice, `window.afterEnd`) {
		if !strings.HasSuffix(got, ":ok") {
			t.Errorf("after the call ended: %s, want it resolved", got)
		}
	}
	if heard := strings.Join(eval[[]string](alice, `window.heard`), ","); heard != "onUserLeave:bob,onCallEnd" {
		t.Errorf("alice heard %s, want onUserLeave:bob,onCallEnd", heard)
	}
	if after, atEnd := eval[int](alice, viewRequestsJS), eval[int](alice, `window.viewsAtEnd`); after != atEnd {
		t.Errorf("%d view requests sent after the call ended, want none", after-atEnd)
	}
	checkNoErrors(t, withExampleEvents(alice), withExampleEvents(bob))
}
