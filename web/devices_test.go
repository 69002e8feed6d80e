package web

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// negotiationsJS is how many publisher offers and subscriber answers the page sent
// (requestLogJS counts them).
const negotiationsJS = `'offers ' + (window.requestLog.offer || 0) + ', answers ' + (window.requestLog.answer || 0)`

// senderTrackJS is the id of the track on the publisher's sender of a kind.
func senderTrackJS(kind string) string {
	return fmt.Sprintf(`(window.parleyExample.engine._media.peerConnections.publisher.getSenders().find((s) => s.track && s.track.kind === %q) || {track: {id: ''}}).track.id`, kind)
}

// TestBrowserSDKDevices: in a call made through the SDK on the example page, alice lists
// her devices (getDeviceList), hears of a device change (onDeviceListUpdated), switches
// camera and microphone (switchDevice, switchCamera: a new track on the same sender, the
// old one stopped, no new offer or answer on either side, bob keeps decoding and
// hearing her), limits her video (setVideoEncoderParams: the senders' parameters and the
// sent frames follow), sets how views render (setVideoRenderParams), chooses the audio
// output (selectAudioPlaybackDevice), mutes the others' audio (muteAllRemoteAudio) and
// sets the log level (setLogLevel); background effects
// are refused with NOT_SUPPORTED.
func TestBrowserSDKDevices(t *testing.T) {
	alice, bob := startExampleCall(t)
	stats := onExamplePage(t, statsJS)
	waitMediaFlowingOf(t, alice, stats)
	before := waitMediaFlowingOf(t, bob, stats)
	e := `window.parleyExample.engine`

	// The device list, whole and by type; a bad type is -32602.
	devices := eval[string](alice, e+`.getDeviceList().then((l) => l.map((d) => d.type + (d.label ? '+label' : '')).join())`)
	t.Logf("alice's devices: %s", devices)
	for _, want := range []string{"camera+label", "microphone+label"} {
		if !strings.Contains(devices, want) {
			t.Errorf("getDeviceList: %s, want a %s", devices, want)
		}
	}
	if got := eval[string](alice, e+`.getDeviceList('camera').then((l) => [...new Set(l.map((d) => d.type))].join())`); got != "camera" {
		t.Errorf("getDeviceList('camera') has types %q", got)
	}
	if got := eval[string](alice, e+`.getDeviceList('webcam').then(() => 'resolved', (err) => String(err.code))`); got != "-32602" {
		t.Errorf("getDeviceList('webcam'): %s, want -32602", got)
	}
	eval[bool](alice, `navigator.mediaDevices.dispatchEvent(new Event('devicechange'))`)
	waitFor[int](alice, "onDeviceListUpdated", onExamplePage(t, eventCountJS("onDeviceListUpdated", "p.cameras.length > 0 && p.microphones.length > 0")), 10*time.Second)

	// Switch the camera and the microphone during the call.
	negotiations := eval[string](alice, negotiationsJS)
	bobNegotiations := eval[string](bob, negotiationsJS)
	switches := []struct {
		name, kind, call string
	}{
		{"switchDevice camera", "video", `.switchDevice({deviceType: 'camera', deviceId: (await window.parleyExample.engine.getDeviceList('camera')).at(-1).deviceId})`},
		{"switchCamera front", "video", `.switchCamera('front')`},
		{"switchDevice microphone", "audio", `.switchDevice({deviceType: 'microphone', deviceId: (await window.parleyExample.engine.getDeviceList('microphone')).at(-1).deviceId})`},
	}
	for _, sw := range switches {
		old := eval[string](alice, senderTrackJS(sw.kind))
		eval[bool](alice, fmt.Sprintf(`(async () => { window.oldTrack = window.parleyExample.engine._local.%s; await window.parleyExample.engine%s; return true; })()`, sw.kind, sw.call))
		now := eval[string](alice, senderTrackJS(sw.kind))
		if now == old || now == "" || now != eval[string](alice, fmt.Sprintf(`window.parleyExample.engine._local.%s.id`, sw.kind)) {
			t.Errorf("%s: sender track %q → %q, want the new device's track", sw.name, old, now)
		}
		if got := eval[string](alice, `window.oldTrack.readyState`); got != "ended" {
			t.Errorf("%s: the old track is %s, want ended", sw.name, got)
		}
	}
	after := waitMediaFlowingOf(t, bob, stats)
	waitFor[bool](bob, "more of alice's video and audio after the switches", fmt.Sprintf(`(async () => { const s = await (%s); return s.videoFramesDecoded > %d + 60 && s.audioBytesReceived > %d; })()`,
		stats, after.VideoFramesDecoded, after.AudioBytesReceived), 30*time.Second)
	t.Logf("bob received before the switches %+v, after %+v", before, after)

	// Limit alice's video to 640×360 at 15 frames/s and 400 kbit/s.
	eval[bool](alice, e+`.setVideoEncoderParams({resolution: 108, videoFps: 15, videoBitrate: 400}).then(() => true)`)
	enc := eval[string](alice, `(() => { const s = window.parleyExample.engine._media.peerConnections.publisher.getSenders().find((s) => s.track && s.track.kind === 'video');
	  return s.getParameters().encodings.map((e) => (e.rid || '-') + ':' + e.maxBitrate + '@' + e.maxFramerate).join(' '); })()`)
	// Chromium encodes a 640×360 camera in two layers at most: the SDK fits q and h to ½
	// and the whole picture (D76), each under the 400 kbit/s.
	if enc != "q:400000@15 h:400000@15 f:400000@15" {
		t.Errorf("video encodings %q, want q:400000@15 h:400000@15 f:400000@15", enc)
	}
	waitFor[bool](alice, "the camera at 640x360, at most 15 frames/s", `(() => { const s = window.parleyExample.engine._local.video.getSettings(); return s.width === 640 && s.height === 360 && s.frameRate <= 15; })()`, 10*time.Second)
	// q, always sent, is ½ of 640×360 now.
	sent := waitFor[string](alice, "the q layer at 320x180 (½ of 640x360) and at most about 15 frames/s", `(async () => {
	  const s = await window.parleyExample.engine.getStats();
	  let out = '';
	  s.publisher.forEach((r) => { if (r.type === 'outbound-rtp' && r.kind === 'video' && r.rid === 'q' && r.frameWidth === 320 && r.frameHeight === 180 && r.framesPerSecond > 0 && r.framesPerSecond <= 16) out = r.frameWidth + 'x' + r.frameHeight + ' ' + r.framesPerSecond + ' fps'; });
	  return out;
	})()`, 30*time.Second)
	t.Logf("alice sends q at %s", sent)
	if got, want := eval[string](alice, negotiationsJS), negotiations; got != want {
		t.Errorf("alice negotiated again: %s, before the switches %s", got, want)
	}
	if got, want := eval[string](bob, negotiationsJS), bobNegotiations; got != want {
		t.Errorf("bob negotiated again: %s, before alice's switches %s", got, want)
	}
	if got := eval[string](alice, e+`.setVideoEncoderParams({videoFps: 100}).then(() => 'resolved', (err) => String(err.code))`); got != "-32602" {
		t.Errorf("videoFps 100: %s, want -32602", got)
	}

	// Rendering of the remote view and of the local preview.
	eval[bool](alice, e+`.setVideoRenderParams({userId: 'bob', fillMode: 'fit', rotation: 90}).then(() => true)`)
	eval[bool](alice, e+`.setVideoRenderParams({fillMode: 'fill'}).then(() => true)`)
	if got := eval[string](alice, `(() => { const r = document.querySelector('#remote video').style, l = document.getElementById('local').style; return r.objectFit + ' ' + r.transform + ' ' + l.objectFit; })()`); got != "contain rotate(90deg) cover" {
		t.Errorf("render params: %q, want contain rotate(90deg) cover", got)
	}
	if got := eval[string](alice, e+`.setVideoRenderParams({rotation: 45}).then(() => 'resolved', (err) => String(err.code))`); got != "-32602" {
		t.Errorf("rotation 45: %s, want -32602", got)
	}

	// The audio output: the last listed speaker (or the default) plays bob's audio.
	sink := eval[string](alice, `(async () => { const s = await window.parleyExample.engine.getDeviceList('speaker'); const id = s.length ? s.at(-1).deviceId : '';
	  await window.parleyExample.engine.selectAudioPlaybackDevice(id); return id + ' ' + window.parleyExample.engine._remote.get('bob').audioEl.sinkId; })()`)
	if id, got, _ := strings.Cut(sink, " "); id != got {
		t.Errorf("selectAudioPlaybackDevice(%q): the audio element plays on %q", id, got)
	}

	// The speaker button: bob's audio element plays muted, then unmuted again.
	for _, mute := range []bool{true, false} {
		if got := eval[bool](alice, fmt.Sprintf(`%s.muteAllRemoteAudio(%t).then(() => window.parleyExample.engine._remote.get('bob').audioEl.muted)`, e, mute)); got != mute {
			t.Errorf("muteAllRemoteAudio(%t): bob's audio element muted %t", mute, got)
		}
	}

	// Logging: 'debug' prints the SDK's messages, 'none' nothing; a bad level throws.
	eval[bool](alice, e+`.setLogLevel('debug') || true`)
	eval[bool](alice, e+`.setVideoEncoderParams({videoFps: 20}).then(() => true)`)
	for end := time.Now().Add(10 * time.Second); !alice.outputContains(`"parley:" "setVideoEncoderParams"`); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			alice.dumpOutput()
			t.Fatalf("no console line of setVideoEncoderParams at level debug")
		}
	}
	if got := eval[string](alice, `(() => { try { window.parleyExample.engine.setLogLevel('loud'); return 'accepted'; } catch (err) { return String(err.code); } })()`); got != "-32602" {
		t.Errorf("setLogLevel('loud'): %s, want -32602", got)
	}

	// Background effects: refused with NOT_SUPPORTED (-8), saying why.
	for _, call := range []string{".setBlurBackground(5)", ".setVirtualBackground('bg.png')", ".setBeautyLevel(3)"} {
		got := eval[string](alice, e+call+`.then(() => 'resolved', (err) => err.code + ' ' + err.message)`)
		if !strings.HasPrefix(got, "-8 ") || !strings.Contains(got, "model") {
			t.Errorf("%s: %q, want -8 naming the missing model", call, got)
		}
	}
	checkNoErrors(t, withExampleEvents(alice), withExampleEvents(bob))
}
