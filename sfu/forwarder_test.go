package sfu

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// The forwarder's decisions as a pure function: the same rules for a single-layer track
// (layer 0 is its only layer and its target) and for a simulcast one.
func TestDecideForward(t *testing.T) {
	now := testNow.UnixNano()
	silent := now - int64(startBelowSilence) - 1 // the target's last packet, long ago
	recent := now - int64(startBelowSilence)     // just within startBelowSilence
	tests := []struct {
		name string
		in   fwdInput
		want fwdAction
	}{
		// Single-layer: target 0 from the start.
		{"single: first keyframe starts", fwdInput{layer: 0, keyframe: true, current: -1, target: 0}, fwdSwitch},
		{"single: delta before anything sent tries the buffered keyframe", fwdInput{layer: 0, current: -1, target: 0}, fwdReplay},
		{"single: delta after a break waits", fwdInput{layer: 0, current: -1, target: 0, started: true}, fwdWait},
		{"single: keyframe after a break restarts", fwdInput{layer: 0, keyframe: true, current: -1, target: 0, started: true}, fwdSwitch},
		{"single: delta while forwarding is sent", fwdInput{layer: 0, current: 0, target: 0, started: true}, fwdSend},
		{"single: keyframe while forwarding is sent", fwdInput{layer: 0, keyframe: true, current: 0, target: 0, started: true}, fwdSend},
		{"single: padding while forwarding closes up", fwdInput{layer: 0, padding: true, current: 0, target: 0, started: true}, fwdDrop},
		{"single: padding while waiting asks nothing", fwdInput{layer: 0, padding: true, current: -1, target: 0}, fwdDrop},
		{"single audio: any packet starts", fwdInput{layer: 0, keyframe: true, current: -1, target: 0}, fwdSwitch},
		// Simulcast: the same situations on layer 2, and what only several layers have.
		{"simulcast: first keyframe starts", fwdInput{layer: 2, keyframe: true, current: -1, target: 2}, fwdSwitch},
		{"simulcast: delta before anything sent tries the buffered keyframe", fwdInput{layer: 2, current: -1, target: 2}, fwdReplay},
		{"simulcast: delta after a break waits", fwdInput{layer: 2, current: -1, target: 2, started: true}, fwdWait},
		{"simulcast: keyframe after a break restarts", fwdInput{layer: 2, keyframe: true, current: -1, target: 2, started: true}, fwdSwitch},
		{"simulcast: delta while forwarding is sent", fwdInput{layer: 2, current: 2, target: 2, started: true}, fwdSend},
		{"simulcast: padding while forwarding closes up", fwdInput{layer: 2, padding: true, current: 2, target: 2, started: true}, fwdDrop},
		{"simulcast: padding while waiting asks nothing", fwdInput{layer: 2, padding: true, current: -1, target: 2}, fwdDrop},
		{"simulcast: target delta while on another layer waits", fwdInput{layer: 2, current: 1, target: 2, started: true}, fwdWait},
		{"simulcast: target keyframe switches up", fwdInput{layer: 2, keyframe: true, current: 1, target: 2, started: true}, fwdSwitch},
		{"simulcast: old layer is sent until the switch", fwdInput{layer: 1, current: 1, target: 2, started: true}, fwdSend},
		{"simulcast: a third layer is not ours", fwdInput{layer: 0, keyframe: true, current: 1, target: 2, started: true}, fwdSkip},
		{"simulcast: padding of a third layer is not ours", fwdInput{layer: 0, padding: true, current: 1, target: 2}, fwdSkip},
		{"simulcast: below the target waits while the target may start",
			fwdInput{layer: 0, keyframe: true, current: -1, target: 2, targetWaited: -1, nowNs: now, targetLastNs: recent}, fwdSkip},
		{"simulcast: below the target starts when the target found no keyframe",
			fwdInput{layer: 0, keyframe: true, current: -1, target: 2, targetWaited: 2, nowNs: now, targetLastNs: recent}, fwdSwitchBelow},
		{"simulcast: below the target starts when the target is silent",
			fwdInput{layer: 1, keyframe: true, current: -1, target: 2, targetWaited: -1, nowNs: now, targetLastNs: silent}, fwdSwitchBelow},
		{"simulcast: below the target replays a delta's buffered keyframe",
			fwdInput{layer: 1, current: -1, target: 2, targetWaited: 2, nowNs: now, targetLastNs: recent}, fwdReplayBelow},
		{"simulcast: nothing above the target", fwdInput{layer: 2, keyframe: true, current: -1, target: 1}, fwdSkip},
		{"no target yet", fwdInput{layer: 0, keyframe: true, current: -1, target: -1}, fwdSkip},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decideForward(tc.in); got != tc.want {
				t.Fatalf("decideForward(%+v) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// forwardOutput is what one subscriber received, relative to its first packet.
type forwardOutput struct {
	packets  []string // "id seq+N ts+N" per written packet
	plis     int
	replays  uint64
	switches uint64
}

// runForwardScript feeds one video stream to a DownTrack on a single-layer Receiver
// (simulcast false) or on layer 0 of a one-rid simulcast Receiver, and reports what the
// subscriber got. Script tokens: K keyframe, D delta, P padding only, L lost upstream (a
// sequence number skipped), J the DownTrack joins (and is bound), O the Sender reports an overwritten
// slot, W the writer drains the queue. Each packet is 3000 ticks (33 ms) after the
// previous one but arrives 10 ms later, so a timestamp derived from the wall clock would
// show.
func runForwardScript(t *testing.T, script string, queue int, simulcast bool) forwardOutput {
	t.Helper()
	rec := &rtcpRecorder{}
	var r *Receiver
	if simulcast {
		r = newSimulcastReceiver(receiverParams{
			trackID: "track", streamID: "alice", kind: webrtc.RTPCodecTypeVideo,
			codec:         webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96},
			bufferPackets: 1024, pliThrottle: 500 * time.Millisecond, writeRTCP: rec.write,
		}, []string{"q"})
		r.sim.layers[0].ssrc.Store(0x1234)
	} else {
		r = testReceiver(webrtc.RTPCodecTypeVideo, rec)
	}
	s := newSender(queue)
	w := &fakeTrackWriter{}
	var d *DownTrack
	now := testNow
	seq, id := uint16(65530), uint16(0) // the publisher's numbering wraps on the way
	for _, tok := range strings.Fields(script) {
		switch tok {
		case "J":
			d = bindTestDownTrack(r, s, w)
			d.requestKeyframe(now) // as Bind does
			continue
		case "O":
			d.overwritten.Store(true)
			continue
		case "W":
			drainSender(s)
			continue
		case "L":
			seq++
			id++
			continue
		}
		var payload []byte
		if tok != "P" {
			payload = vp8Payload(tok == "K", id)
		}
		raw := rtpBytes(seq, uint32(id)*3000, false, false, payload)
		var err error
		if simulcast {
			err = r.sim.layers[0].writePacket(raw, now)
		} else {
			err = r.writePacket(raw, now)
		}
		if err != nil {
			t.Fatal(err)
		}
		seq++
		id++
		now = now.Add(10 * time.Millisecond)
	}
	drainSender(s)
	out := forwardOutput{plis: rec.count(), replays: d.Replays(), switches: d.LayerSwitches()}
	got := w.snapshot()
	for _, p := range got {
		out.packets = append(out.packets, fmt.Sprintf("%d seq+%d ts+%d", binary.BigEndian.Uint16(p.payload[2:]),
			p.header.SequenceNumber-got[0].header.SequenceNumber, p.header.Timestamp-got[0].header.Timestamp))
	}
	return out
}

// A single-layer track and a one-layer simulcast track forward the same packets with
// the same numbering, keyframe requests and fast starts: one forwarder (D80). One
// difference in requests: a simulcast track joined before any packet has no layer to
// ask yet; it asks at its first packet, and not when that packet is a keyframe (D171),
// while a single-layer track asks at the join.
func TestForwarderSameRulesForOneLayerAndSimulcast(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		queue   int
		want    []string
		replays uint64
		// fewerSimPLIs: the join's request, which the simulcast track need not make
		// because its first packet is a keyframe.
		fewerSimPLIs int
	}{
		{"waits for the first keyframe", "J D D K D", 16,
			[]string{"2 seq+0 ts+0", "3 seq+1 ts+3000"}, 0, 0},
		{"a late subscriber replays the buffered keyframe", "K D D J D D", 16,
			[]string{"0 seq+0 ts+0", "1 seq+1 ts+3000", "2 seq+2 ts+6000", "3 seq+3 ts+9000", "4 seq+4 ts+12000"}, 1, 0},
		{"padding is closed up", "J K D P D", 16,
			[]string{"0 seq+0 ts+0", "1 seq+1 ts+3000", "3 seq+2 ts+9000"}, 0, 1},
		{"upstream loss stays a gap", "J K D L D", 16,
			[]string{"0 seq+0 ts+0", "1 seq+1 ts+3000", "3 seq+3 ts+9000"}, 0, 1},
		{"a full queue waits for the next keyframe on the publisher's clock", "J K D D D W D K D", 3,
			[]string{"0 seq+0 ts+0", "1 seq+1 ts+3000", "2 seq+2 ts+6000", "5 seq+3 ts+15000", "6 seq+4 ts+18000"}, 0, 0},
		{"an overwritten slot waits for the next keyframe", "J K D O D K D", 16,
			[]string{"0 seq+0 ts+0", "1 seq+1 ts+3000", "3 seq+2 ts+9000", "4 seq+3 ts+12000"}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			single := runForwardScript(t, tc.script, tc.queue, false)
			sim := runForwardScript(t, tc.script, tc.queue, true)
			if !slices.Equal(single.packets, tc.want) || single.replays != tc.replays {
				t.Fatalf("single layer got %q (replays %d), want %q (replays %d)", single.packets, single.replays, tc.want, tc.replays)
			}
			if !slices.Equal(sim.packets, single.packets) || sim.plis != single.plis-tc.fewerSimPLIs ||
				sim.replays != single.replays || sim.switches != single.switches {
				t.Fatalf("single layer and simulcast diverged:\nsingle %+v\nsimulcast %+v", single, sim)
			}
		})
	}
}

// A simulcast subscriber whose queue overflowed restarts on the same layer at its next
// keyframe: sequence numbers continue without a gap and, as at a layer switch, the VP8
// picture ID and TL0PICIDX continue from the last sent ones (munger.switchTo).
func TestSimulcastRestartOnSameLayerKeepsPictureIDs(t *testing.T) {
	f := newSimFixture(t)
	w, s := &fakeTrackWriter{}, newSender(8)
	dt := bindTestDownTrack(f.receiver, s, w)
	dt.SetWantedSize(1280, 720)
	for n := 0; n < 13; n++ { // f's next keyframe is frame 10 (keyframeAt)
		f.step()
		if n < 4 || n > 8 { // frames 4-8 overflow the queue: the writer is stalled
			drainSender(s)
		}
	}
	if s.dropped.Load() == 0 {
		t.Fatal("the queue never overflowed")
	}
	layers := checkContinuity(t, "restarted", w.snapshot())
	if dt.CurrentLayer() != 2 || dt.LayerSwitches() < 2 || layers[len(layers)-1] != 2 {
		t.Fatalf("current %d after %d starts, layers %v: want a restart on f", dt.CurrentLayer(), dt.LayerSwitches(), layers)
	}
}
