package web

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// sharpnessJS is the mean absolute Laplacian of the luminance of the current frame of the
// page's local preview (#local, which shows what the engine sends), drawn at 320×180 (-1
// while it has no frame): a blurred frame scores low.
const sharpnessJS = `(() => {
  const v = document.getElementById('local');
  if (!v || !v.videoWidth) return -1;
  const w = 320, h = 180, c = document.createElement('canvas');
  c.width = w; c.height = h;
  const x = c.getContext('2d', {willReadFrequently: true});
  x.drawImage(v, 0, 0, w, h);
  const d = x.getImageData(0, 0, w, h).data;
  const L = (i) => 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
  let sum = 0, n = 0;
  for (let y = 1; y < h - 1; y++) for (let i = (y * w + 1) * 4; i < (y * w + w - 1) * 4; i += 4) {
    sum += Math.abs(4 * L(i) - L(i - 4) - L(i + 4) - L(i - 4 * w) - L(i + 4 * w)); n++;
  }
  return sum / n;
})()`

// TestBrowserSDKBackgroundBlur: alice's page loads MediaPipe's selfie segmentation (npm
// @mediapipe/selfie_segmentation, served by the app's origin) and turns on background blur
// with it mid-call: her sender and preview get the effect's canvas track without a
// renegotiation, the frames are blurred (measured on the preview, so that the simulcast
// layer bob receives does not change the figure) and bob keeps decoding them. The fake
// camera shows no person, so the mask leaves most of the frame to the background: this
// shows the pipeline, not how well the model finds a person. A camera switch keeps the
// effect; setVirtualBackground shows an image where the background was; level 0 puts the
// camera's own track back.
func TestBrowserSDKBackgroundBlur(t *testing.T) {
	if _, err := os.Stat(mediapipeDir + "/selfie_segmentation.js"); err != nil {
		t.Skipf("SKIPPED: @mediapipe/selfie_segmentation is not installed (%v); run `make deps` (scripts/ensure-test-deps.sh)", err)
	}
	alice, bob := startExampleCall(t)
	stats := onExamplePage(t, statsJS)
	waitMediaFlowingOf(t, bob, stats)
	sharp := waitFor[float64](alice, "a frame of alice's preview", `(() => { const s = `+sharpnessJS+`; return s > 0 ? s : 0; })()`, 20*time.Second)
	negotiations := eval[string](alice, negotiationsJS)

	// The page loads the model and its runtime from its own origin, as an app would.
	eval[bool](alice, `new Promise((resolve, reject) => { const s = document.createElement('script'); s.src = '/mp/selfie_segmentation.js';
	  s.onload = () => resolve(true); s.onerror = () => reject(new Error('cannot load selfie_segmentation.js')); document.head.appendChild(s); })`)
	// A machine without a GPU compiles and runs the model slowly (D41): long deadlines.
	evalWithin[bool](alice, `(async () => {
	  const sdk = await import(new URL('/sdk/parley.js', window.parleyServer).href);
	  const seg = new SelfieSegmentation({locateFile: (f) => '/mp/' + f});
	  seg.setOptions({modelSelection: 1});
	  await seg.initialize();
	  await window.parleyExample.engine.setBlurBackground(10, {segmenter: sdk.fromSelfieSegmentation(seg)});
	  return true;
	})()`, 5*time.Minute)
	if !evalWithin[bool](alice, `(() => { const e = window.parleyExample.engine; return `+senderTrackJS("video")+` === e._local.effect.output.id && e._local.effect.output.id !== e._local.video.id; })()`, 2*time.Minute) {
		t.Errorf("alice's video sender does not send the effect's track")
	}
	before := eval[mediaStats](bob, stats)
	var blurred float64
	for end := time.Now().Add(3 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		if s := eval[float64](alice, sharpnessJS); s > 0 && s < sharp/2 {
			blurred = s
			break
		}
		if time.Now().After(end) {
			t.Fatalf("alice's video stayed sharp: %.2f, %.2f before the blur", eval[float64](alice, sharpnessJS), sharp)
		}
	}
	waitFor[bool](bob, "more of alice's blurred frames", fmt.Sprintf(`(async () => (await (%s)).videoFramesDecoded > %d + 5)()`, stats, before.VideoFramesDecoded), 2*time.Minute)
	t.Logf("sharpness of alice's sent video: %.2f before the blur, %.2f with it", sharp, blurred)
	if got := eval[string](alice, negotiationsJS); got != negotiations {
		t.Errorf("alice negotiated again: %s, before the blur %s", got, negotiations)
	}

	// A camera switch keeps the effect: its source changes, the sender keeps its track.
	evalWithin[bool](alice, `window.parleyExample.engine.switchCamera('front').then(() => true)`, 2*time.Minute)
	if !eval[bool](alice, `(() => { const e = window.parleyExample.engine; return e._local.effect.source === e._local.video && e._local.video.readyState === 'live' && `+senderTrackJS("video")+` === e._local.effect.output.id; })()`) {
		t.Errorf("after switchCamera the effect does not process the new camera, or the sender lost its track")
	}

	// A virtual background: where the mask leaves the background (a corner of the fake
	// camera's frame), the preview shows the image (solid magenta).
	evalWithin[bool](alice, `(async () => {
	  const c = document.createElement('canvas'); c.width = 64; c.height = 36;
	  const x = c.getContext('2d'); x.fillStyle = '#ff00ff'; x.fillRect(0, 0, 64, 36);
	  await window.parleyExample.engine.setVirtualBackground(c.toDataURL());
	  return true;
	})()`, 2*time.Minute)
	waitFor[bool](alice, "the image in a corner of the preview", `(() => {
	  const v = document.getElementById('local'), c = document.createElement('canvas'); c.width = 32; c.height = 18;
	  const x = c.getContext('2d', {willReadFrequently: true}); x.drawImage(v, 0, 0, 32, 18);
	  const [r, g, b] = x.getImageData(1, 1, 1, 1).data;
	  return r > 200 && g < 60 && b > 200;
	})()`, 2*time.Minute)

	// Level 0: the camera's track goes back on the sender, the effect's track ends.
	evalWithin[bool](alice, `window.parleyExample.engine.setBlurBackground(0).then(() => true)`, 2*time.Minute)
	if !evalWithin[bool](alice, `(() => { const e = window.parleyExample.engine; return !e._local.effect && `+senderTrackJS("video")+` === e._local.video.id; })()`, 2*time.Minute) {
		t.Errorf("after setBlurBackground(0) alice's sender does not send the camera's track")
	}
	checkNoErrors(t, withExampleEvents(alice), withExampleEvents(bob))
}
