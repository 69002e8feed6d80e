package sfu

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// fingerprintOf returns the a=fingerprint value of a description (every occurrence must
// agree).
func fingerprintOf(t *testing.T, sdp string) string {
	t.Helper()
	var found string
	for _, line := range strings.Split(sdp, "\r\n") {
		fp, ok := strings.CutPrefix(line, "a=fingerprint:")
		if !ok {
			continue
		}
		if found != "" && fp != found {
			t.Fatalf("two fingerprints in one description: %q and %q", found, fp)
		}
		found = fp
	}
	if found == "" {
		t.Fatalf("no fingerprint in\n%s", sdp)
	}
	return found
}

// engineFingerprint is the Engine's certificate fingerprint as SDP writes it.
func engineFingerprint(t *testing.T, e *Engine) string {
	t.Helper()
	e.mu.Lock()
	cert := e.cert
	e.mu.Unlock()
	fps, err := cert.GetFingerprints()
	if err != nil || len(fps) == 0 {
		t.Fatalf("engine certificate fingerprints: %v, %v", fps, err)
	}
	return fps[0].Algorithm + " " + strings.ToUpper(fps[0].Value)
}

// TestPeersShareCertificate: two publisher Peers and a pre-connected subscriber Peer of one
// Engine present the Engine's one certificate, and each still connects to its client.
func TestPeersShareCertificate(t *testing.T) {
	e := newTestEngine(t)
	want := engineFingerprint(t, e)
	var servers []candidatePeer
	for _, user := range []string{"alice", "bob"} {
		pub, err := e.NewPublisher(user)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pub.Close() })
		client, offer := publishingClient(t)
		connectCandidates(t, client, pub)
		answer, err := pub.HandleOffer(offer)
		if err != nil {
			t.Fatal(err)
		}
		if got := fingerprintOf(t, answer.SDP); !strings.EqualFold(got, want) {
			t.Errorf("%s's publisher answer fingerprint %q, want the engine's %q", user, got, want)
		}
		if err := client.SetRemoteDescription(answer); err != nil {
			t.Fatal(err)
		}
		pub.MarkLocalDescriptionSent()
		servers = append(servers, pub)
	}

	sub, client, _, offer := preConnectOffer(t, e, SubscriberOptions{ID: "carol", PreConnect: true})
	if got := fingerprintOf(t, offer.SDP); !strings.EqualFold(got, want) {
		t.Errorf("subscriber offer fingerprint %q, want the engine's %q", got, want)
	}
	if !strings.Contains(offer.SDP, "m=audio") || !strings.Contains(offer.SDP, "a=recvonly") {
		t.Errorf("pre-connect offer has no receive-only audio section:\n%s", offer.SDP)
	}
	answer := clientAnswer(t, client, offer)
	sub.MarkLocalDescriptionSent()
	if err := sub.HandleAnswer(answer); err != nil {
		t.Fatal(err)
	}
	servers = append(servers, sub)

	waitFor(t, func() bool {
		for _, p := range servers {
			if p.ConnectionState() != webrtc.PeerConnectionStateConnected {
				return false
			}
		}
		return true
	})
	// Media-ready follows Connected on pion's state-change callback, a moment later.
	waitFor(t, sub.mediaReady.Load) // a pre-connected subscriber without DownTracks becomes media-ready
	// Nothing was sent to the subscriber: its queue and goroutines were never made.
	sub.mu.Lock()
	sending := sub.sending
	sub.mu.Unlock()
	if sending || sub.sender.free() != 0 {
		t.Errorf("subscriber without DownTracks: sending %v, %d free slots; want no queue", sending, sub.sender.free())
	}
}

func TestCertificateRenewedBeforeExpiry(t *testing.T) {
	e := newTestEngine(t)
	e.mu.Lock()
	defer e.mu.Unlock()
	first := e.cert
	expires := first.Expires()
	if expires.IsZero() {
		t.Fatal("Start made no certificate")
	}
	for _, tc := range []struct {
		name  string
		now   time.Time
		renew bool
	}{
		{"fresh", time.Now(), false},
		{"a day more than the renewal margin left", expires.Add(-certificateRenewal - 24*time.Hour), false},
		{"within the renewal margin", expires.Add(-certificateRenewal + time.Hour), true},
	} {
		got, err := e.certificateLocked(tc.now)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if renewed := !got.Equals(first); renewed != tc.renew {
			t.Errorf("%s: renewed %v, want %v", tc.name, renewed, tc.renew)
		}
		if tc.renew && !got.Equals(e.cert) {
			t.Errorf("%s: the renewed certificate is not the Engine's from now on", tc.name)
		}
	}
}

// TestSenderQueueWithFirstDownTrack: a subscriber Peer allocates its Sender's slots with
// its first DownTrack, not when it is made.
func TestSenderQueueWithFirstDownTrack(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.SenderQueueSize = 64 })
	sub, err := e.NewSubscriber(SubscriberOptions{ID: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if n := sub.sender.free(); n != 0 {
		t.Fatalf("new subscriber Peer has %d queue slots, want none before its first DownTrack", n)
	}
	r := testReceiver(webrtc.RTPCodecTypeAudio, nil)
	defer r.Close()
	if _, err := sub.AddDownTrack(r); err != nil {
		t.Fatal(err)
	}
	if n := sub.sender.free(); n != 64 {
		t.Fatalf("after the first DownTrack: %d free slots, want rtc.sender_queue_size 64", n)
	}
}
