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
// as "event:method:ok" or "event:method:<error code>".
const afterEndJS = `(() => {
  const e = window.parleyExample.engine;
  window.afterEnd = [];
  const run = (event) => () => {
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

// TestBrowserSDKViewsAfterCallEnd: the other side hangs up, and the view and device
// methods the app calls from its onCallEnd and onUserLeave handlers resolve without
// an error (none says "not in a room"), with no view request sent after the end (D75).
func TestBrowserSDKViewsAfterCallEnd(t *testing.T) {
	alice, bob := startExampleCall(t)
	waitMediaFlowingOf(t, alice, onExamplePage(t, statsJS))
	eval[bool](alice, afterEndJS)
	before := eval[int](alice, `(window.requestLog.stopRemoteView || 0) + (window.requestLog.startRemoteView || 0) + (window.requestLog.setRemoteViewQuality || 0)`)

	bob.do(chromedp.Click(chromedp.CSS("#hangup")))
	waitFor[bool](alice, "idle after bob hung up", `window.parleyExample.engine.callStatus === 'idle'`, 20*time.Second)
	waitFor[bool](alice, "the onCallEnd handler's calls settled", `window.afterEnd.filter((s) => s.startsWith('onCallEnd:')).length === 5`, 20*time.Second)
	// onUserLeave may follow onCallEnd; give its calls the time to settle too.
	if poll(alice, `window.afterEnd.some((s) => s.startsWith('onUserLeave:'))`, 5*time.Second) {
		waitFor[bool](alice, "the onUserLeave handler's calls settled", `window.afterEnd.length === 10`, 20*time.Second)
	}
	for _, got := range eval[[]string](alice, `window.afterEnd`) {
		if !strings.HasSuffix(got, ":ok") {
			t.Errorf("after the call ended: %s, want it resolved", got)
		}
	}
	after := eval[int](alice, `(window.requestLog.stopRemoteView || 0) + (window.requestLog.startRemoteView || 0) + (window.requestLog.setRemoteViewQuality || 0)`)
	if after != before {
		t.Errorf("%d view requests sent after the call ended, want none", after-before)
	}
	checkNoErrors(t, withExampleEvents(alice), withExampleEvents(bob))
}
