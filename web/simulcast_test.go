package web

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pinnedSendKbps is the send bandwidth estimate TestBrowserSimulcastLayersByWish pins
// alice's Chromium to: above what its simulcast allocator needs to send all three layers
// (q's 150 and h's 500 kbit/s, the SDK's maxBitrate of each, plus f's 600 kbit/s minimum
// at 1280×720) with room for audio and packet overhead.
const pinnedSendKbps = 1600

// pinSendBitrateJS makes the page's Chromium keep its send bandwidth estimate at kbps:
// every answer it is given (the server's answer to the publisher's offer, already carrying
// the SDK's x-google-start-bitrate) gets x-google-min-bitrate and x-google-max-bitrate
// beside it, which Chromium reads from the remote description as the bounds of its
// estimate. The server still sends its feedback; Chromium just cannot go below kbps.
func pinSendBitrateJS(kbps int) string {
	k := itoa(kbps)
	return `(() => {
	  const set = RTCPeerConnection.prototype.setRemoteDescription;
	  RTCPeerConnection.prototype.setRemoteDescription = function (desc, ...rest) {
	    if (desc && desc.type === 'answer' && typeof desc.sdp === 'string') {
	      desc = {type: desc.type, sdp: desc.sdp.replace(/x-google-start-bitrate=\d+/g,
	        'x-google-start-bitrate=` + k + `;x-google-min-bitrate=` + k + `;x-google-max-bitrate=` + itoa(kbps*2) + `')};
	    }
	    return set.call(this, desc, ...rest);
	  };
	  return true;
	})()`
}

// simulcastRoom starts a server and a browser per name, signs each in on the lab page and
// has it join room; the first one's send estimate is pinned (pinSendBitrateJS), so that
// it sends all three layers of its 1280×720 camera on a busy machine too.
func simulcastRoom(t *testing.T, room string, names ...string) []*browser {
	t.Helper()
	srv := startTestServer(t, true)
	bs := newBrowsers(t, names...)
	for i, b := range bs {
		signIn(b, srv.URL, b.name)
		if i == 0 {
			eval[bool](b, pinSendBitrateJS(pinnedSendKbps))
		}
		b.do(
			chromedp.SetValue(chromedp.CSS("#room-id"), room),
			chromedp.Click(chromedp.CSS("#join-room")),
		)
		waitFor[bool](b, "the room view", `window.parleyDemo.state.view === 'incall'`, 20*time.Second)
	}
	return bs
}

// TestBrowserSimulcastLayersByWish: alice publishes her 1280×720 camera as three simulcast
// layers from Chromium; bob and carol, also Chromium, view her asking for 640×360 and for
// 320×180, and decode frames of those heights.
//
// The test is about the server's layer choice, not about Chromium's bandwidth estimation:
// alice's send estimate is pinned (pinSendBitrateJS) so that she sends all three layers on
// a busy machine too. TestBrowserCall still checks that the three layers come with the
// estimate left to the server's feedback.
func TestBrowserSimulcastLayersByWish(t *testing.T) {
	bs := simulcastRoom(t, "layers", "alice", "bob", "carol")
	alice, bob, carol := bs[0], bs[1], bs[2]
	if !poll(alice, `(async () => (await (`+statsJS+`)).publishedRids.join() === 'f,h,q')()`, 45*time.Second) {
		alice.dumpOutput()
		t.Fatalf("alice: Chromium did not send all three simulcast layers in 45 s; its encodings: %s; %s",
			eval[string](alice, senderLayersJS), eval[string](alice, publisherLayersJS))
	}
	if fmtp := eval[string](alice, `window.parleyDemo.engine._media.peerConnections.publisher.remoteDescription.sdp.match(/x-google-min-bitrate=\d+/)?.[0] || ''`); fmtp != "x-google-min-bitrate="+itoa(pinnedSendKbps) {
		t.Fatalf("alice's publisher answer carries %q, want the pinned x-google-min-bitrate", fmtp)
	}
	t.Logf("alice publishes: %s", eval[string](alice, publisherLayersJS))

	wishes := []struct {
		b      *browser
		wish   string
		height int
	}{
		{bob, `{userId: 'alice', resolution: 108}`, 360},
		{carol, `{userId: 'alice', width: 320, height: 180}`, 180},
	}
	for _, w := range wishes {
		eval[bool](w.b, `(async () => { await window.parleyDemo.engine.setRemoteViewQuality(`+w.wish+`); return true; })()`)
	}
	// Each viewer's decoded height of alice's video follows its wish.
	aliceHeightJS := `(async () => {
	  const s = await window.parleyDemo.engine.getStats();
	  let h = 0;
	  s.subscriber.forEach((r) => {
	    if (r.type === 'inbound-rtp' && r.kind === 'video' && r.trackIdentifier) {
	      const track = window.parleyDemo.engine._remote.get('alice')?.video;
	      if (track && track.id === r.trackIdentifier) h = r.frameHeight || 0;
	    }
	  });
	  return h;
	})()`
	for _, w := range wishes {
		waitFor[int](w.b, "alice's video at the wished height", `(async () => (await `+aliceHeightJS+`) === `+itoa(w.height)+` ? 1 : 0)()`, 45*time.Second)
		t.Logf("%s decodes alice at height %d", w.b.name, eval[int](w.b, aliceHeightJS))
	}

	// Nobody wants 1280×720 now: the server tells alice (onPublishLayersChanged) and her
	// SDK stops encoding f; q and h keep going.
	waitFor[bool](alice, "the f encoding paused", `(() => {
	  const enc = window.parleyDemo.engine._media.peerConnections.publisher.getSenders()
	    .map((s) => s.getParameters().encodings || []).find((e) => e.length === 3) || [];
	  const by = Object.fromEntries(enc.map((e) => [e.rid, e.active]));
	  return by.f === false && by.h === true && by.q === true;
	})()`, 30*time.Second)
}

func itoa(n int) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{digits[n%10]}, b...)
		n /= 10
	}
	return string(b)
}

// senderLayersJS describes the publisher's video encodings: active flag, frames encoded,
// size and why Chromium limits quality (cpu, bandwidth) — for failure messages.
const senderLayersJS = `(async () => {
  const pc = window.parleyDemo.engine._media.peerConnections.publisher;
  const active = {};
  pc.getSenders().forEach((s) => (s.getParameters().encodings || []).forEach((e) => { active[e.rid || ''] = e.active; }));
  const out = [];
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'outbound-rtp' && r.kind === 'video') {
      out.push(r.rid + ': active=' + active[r.rid || ''] + ' framesEncoded=' + (r.framesEncoded || 0) + ' ' +
        (r.frameWidth || 0) + 'x' + (r.frameHeight || 0) + ' limitation=' + r.qualityLimitationReason +
        ' bytesSent=' + (r.bytesSent || 0));
    }
  });
  return out.sort().join('; ');
})()`

// TestBrowserSimulcastLayersFollowCaptureSize: alice publishes her 1280×720 camera as
// three layers and bob views her at full size (the server pauses h, which nobody needs);
// alice sets 640×360 with setVideoEncoderParams mid-call, at which size Chromium encodes
// only two of the three encodings. Her SDK fits the layers to the new size (q ½, h the
// whole picture) and resumes them, and bob decodes her at 640×360, not at the 160×90 of
// q alone (D76).
func TestBrowserSimulcastLayersFollowCaptureSize(t *testing.T) {
	bs := simulcastRoom(t, "resize", "alice", "bob")
	alice, bob := bs[0], bs[1]
	bobDecodesJS := func(w, h int) string {
		return `(async () => { const s = await (` + statsJS + `); return s.videoWidth === ` + itoa(w) + ` && s.videoHeight === ` + itoa(h) + `; })()`
	}
	if !poll(bob, bobDecodesJS(1280, 720), 45*time.Second) {
		t.Fatalf("bob does not decode alice at 1280x720; alice sends %s", eval[string](alice, senderLayersJS))
	}
	waitFor[bool](alice, "the h encoding paused", `(() => {
	  const enc = window.parleyDemo.engine._media.peerConnections.publisher.getSenders()
	    .map((s) => s.getParameters().encodings || []).find((e) => e.length === 3) || [];
	  return enc.some((e) => e.rid === 'h' && e.active === false);
	})()`, 30*time.Second)

	eval[bool](alice, `(async () => { await window.parleyDemo.engine.setVideoEncoderParams({resolution: 108}); return true; })()`)
	if !poll(bob, bobDecodesJS(640, 360), 45*time.Second) {
		t.Fatalf("after alice's 640x360: bob decodes %s; alice sends %s", eval[string](bob, `(async () => { const s = await (`+statsJS+`); return s.videoWidth + 'x' + s.videoHeight; })()`), eval[string](alice, senderLayersJS))
	}
	if got := eval[string](alice, `window.parleyDemo.engine._media.peerConnections.publisher.getSenders()
	    .map((s) => s.getParameters().encodings || []).find((e) => e.length === 3).map((e) => e.rid + ':' + e.scaleResolutionDownBy).join()`); got != "q:2,h:1,f:1" {
		t.Errorf("alice's encodings at 640x360: %s, want q:2,h:1,f:1", got)
	}
	checkNoErrors(t, alice, bob)
}
