package sfu

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// TestPublisherFeedbackReportsNoFalseLoss: a publisher sends audio and video packets
// (one transport-wide sequence) while the server's read goroutine of the video track is
// held up for 400 ms, as on a CPU-starved server where the tracks' goroutines run in any
// order. Every packet reached the server: the feedback must not report the video packets
// as lost while the audio after them is recorded (a browser's loss-based estimator lowers
// its rate on reported loss).
func TestPublisherFeedbackReportsNoFalseLoss(t *testing.T) {
	engine := newTestEngine(t)
	pub, err := engine.NewPublisher("alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	receivers := make(chan *Receiver, 2)
	pub.OnTrack(func(r *Receiver) { receivers <- r })
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "alice")
	if err != nil {
		t.Fatal(err)
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "alice")
	if err != nil {
		t.Fatal(err)
	}
	// As Chromium (156): no cryptex, so the transport-wide numbers are readable at the
	// socket (twccroute.go).
	client, offer := publishingClientWith(t, webrtc.Configuration{RTPHeaderEncryptionPolicy: webrtc.RTPHeaderEncryptionPolicyDisable}, audio, video)
	connectCandidates(t, client, pub)
	answerOffer(t, client, pub, offer)
	extIDs := map[string]uint8{} // by kind
	for _, s := range client.GetSenders() {
		for _, e := range s.GetParameters().HeaderExtensions {
			if e.URI == sdp.TransportCCURI {
				extIDs[s.Track().Kind().String()] = uint8(e.ID)
			}
		}
	}
	if extIDs["audio"] == 0 || extIDs["video"] == 0 {
		t.Fatalf("transport-wide-cc not negotiated for both kinds: %v", extIDs)
	}

	var mu sync.Mutex
	lostOnce := map[uint16]bool{} // reported lost in some feedback
	received := map[uint16]bool{}
	feedbacks := 0
	for _, s := range client.GetSenders() {
		go func() {
			for {
				pkts, _, err := s.ReadRTCP()
				if err != nil {
					return
				}
				mu.Lock()
				for _, p := range pkts {
					if fb, ok := p.(*rtcp.TransportLayerCC); ok {
						feedbacks++
						walkFeedback(fb, func(seq uint16, ok bool, _ int64) {
							if ok {
								received[seq] = true
							} else if !received[seq] {
								lostOnce[seq] = true
							}
						})
					}
				}
				mu.Unlock()
			}
		}()
	}
	stop := sendEvery(5*time.Millisecond, func(seq uint16) bool {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq / 2, Timestamp: uint32(seq) * 480}, Payload: []byte{0xfc, 1, 2, 3}}
		track, kind := audio, "audio"
		if seq%2 == 1 {
			pkt = &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq / 2, Timestamp: uint32(seq) * 900}, Payload: vp8Payload(seq%60 == 1, seq/2)}
			track, kind = video, "video"
		}
		if err := pkt.SetExtension(extIDs[kind], binary.BigEndian.AppendUint16(nil, seq)); err != nil {
			t.Error(err)
			return false
		}
		return track.WriteRTP(pkt) == nil
	})
	defer stop()
	var videoRcv *Receiver
	for videoRcv == nil {
		select {
		case r := <-receivers:
			if r.Kind() == webrtc.RTPCodecTypeVideo {
				videoRcv = r
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no video track at the server")
		}
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return feedbacks > 5 })
	mu.Lock()
	clear(lostOnce)
	mu.Unlock()
	release := holdTrackReadGoroutine(t, videoRcv)
	time.Sleep(400 * time.Millisecond)
	release()
	mark := func() int { mu.Lock(); defer mu.Unlock(); return feedbacks }
	after := mark()
	waitFor(t, func() bool { return mark() > after+5 })

	mu.Lock()
	defer mu.Unlock()
	falseLoss := 0
	for seq := range lostOnce {
		if received[seq] {
			falseLoss++
		}
	}
	t.Logf("while the video read goroutine was held 400 ms: %d packets reported lost and later received, %d reported lost in all", falseLoss, len(lostOnce))
	if falseLoss > 0 {
		t.Fatalf("the feedback reported %d packets that reached the server as lost", falseLoss)
	}
}
