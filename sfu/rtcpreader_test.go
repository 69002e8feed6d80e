package sfu

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// mediaPlaneGoroutines counts the goroutines running the sfu package's code (the test's
// own goroutines and callbacks excluded).
func mediaPlaneGoroutines() int {
	return countGoroutines(func(g []byte) bool {
		return bytes.Contains(g, []byte("parley/sfu.")) && !bytes.Contains(g, []byte("parley/sfu.Test"))
	})
}

// countGoroutines counts the goroutines whose stack trace match accepts.
func countGoroutines(match func(stack []byte) bool) int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	count := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if match(g) {
			count++
		}
	}
	return count
}

// A subscriber reads its RTCP with one goroutine whatever the number of its tracks, and
// each DownTrack still gets the reports addressed to it.
func TestSubscriberGoroutinesDoNotGrowWithTracks(t *testing.T) {
	engine := newTestEngine(t)
	var tracks []webrtc.TrackLocal
	for _, id := range []string{"cam", "screen", "extra"} {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, id, "alice-media")
		if err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
	}
	_, receivers := publish(t, engine, tracks...)
	seq := uint16(0)
	t.Cleanup(repeat(20*time.Millisecond, func() { // keyframes on every track
		seq++
		for _, tr := range tracks {
			_ = tr.(*webrtc.TrackLocalStaticRTP).WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 1800, Marker: true}, Payload: vp8Payload(true, seq)})
		}
	}))

	sub, client, readers := subscribedClient(t, engine)
	var received atomic.Int32 // tracks the client receives packets on
	client.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		received.Add(1)
		readers.Add(1)
		go func() {
			defer readers.Done()
			var buf [maxPacketSize]byte
			for {
				if _, _, err := track.Read(buf[:]); err != nil {
					return
				}
			}
		}()
	})
	var downTracks []*DownTrack
	subscribe := func() {
		t.Helper()
		var r *Receiver
		select {
		case r = <-receivers:
		case <-time.After(20 * time.Second):
			t.Fatal("a published track did not arrive")
		}
		d, err := sub.AddDownTrack(r)
		if err != nil {
			t.Fatal(err)
		}
		downTracks = append(downTracks, d)
		negotiate(t, sub, client)
		waitFor(t, func() bool { return int(received.Load()) == len(downTracks) })
	}

	subscribe()
	base := mediaPlaneGoroutines()
	for settled := 0; settled < 3; time.Sleep(50 * time.Millisecond) { // transient callbacks end
		if n := mediaPlaneGoroutines(); n < base {
			base, settled = n, 0
		} else {
			settled++
		}
	}
	subscribe()
	subscribe()
	var last int
	waitFor(t, func() bool { last = mediaPlaneGoroutines(); return last <= base })
	// Every DownTrack gets the receiver reports about its own stream.
	waitFor(t, func() bool {
		for _, d := range downTracks {
			if d.Stats().Reports == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("media-plane goroutines with 1 subscribed track: %d, with 3: %d", base, last)
}

// subscribedClient makes subscriber Peer "bob" of engine and a pion client (pion's default
// interceptors) connected to it; readers is for the goroutines reading the client, which
// the test's cleanup waits for after the client closed.
func subscribedClient(t *testing.T, engine *Engine) (*Subscriber, *webrtc.PeerConnection, *sync.WaitGroup) {
	t.Helper()
	sub, err := engine.NewSubscriber(SubscriberOptions{ID: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	readers := &sync.WaitGroup{}
	t.Cleanup(readers.Wait) // after the client closed (cleanups run last first)
	client := newClientPC(t)
	connectCandidates(t, client, sub)
	return sub, client, readers
}
