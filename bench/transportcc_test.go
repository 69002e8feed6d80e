package bench

import (
	"sync"
	"testing"
	"time"
)

// TestClientsNegotiateTransportCC: the bench's clients negotiate transport-wide congestion
// control as browsers do, so the server's congestion control runs while it is measured:
// during the window the server's subscriber PeerConnections have a downlink estimate,
// which only the clients' TWCC feedback gives them (bench clients send no REMB). With
// Scenario.NoTransportCC they have none.
func TestClientsNegotiateTransportCC(t *testing.T) {
	tests := []struct {
		name          string
		noTransportCC bool
		wantEstimate  bool
	}{
		{"negotiated", false, true},
		{"turned off", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, engine := startServerEngine(t)
			s := Scenario{
				Name: "twcc", Kind: KindRoom, VideoPublishers: 1, PublisherAudio: true, Subscribers: 2, Views: 1, HighViews: 1,
				NoTransportCC: tt.noTransportCC, Ramp: 20, Settle: time.Second, Duration: 2 * time.Second,
			}
			cfg := devConfig(url, s)
			var (
				mu          sync.Mutex
				subscribers int
				estimated   int
			)
			// At the end of the window the load still runs: look at the server's Peers.
			cfg.WindowEnd = func() {
				mu.Lock()
				defer mu.Unlock()
				for _, p := range engine.Subscribers() {
					subscribers++
					if p.DownlinkEstimate() > 0 {
						estimated++
					}
				}
			}
			rep, err := Run(runCtx(t, 2*time.Minute), cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Media flowed to both viewers (what it cost is not this test's matter: on a
			// starved machine the server's estimate may fall and packets may be lost).
			if len(rep.Failures) != 0 || rep.AudioTracks != 2 || rep.VideoTracks != 2 || rep.RxPackets == 0 {
				t.Errorf("failures %v; %d audio and %d video tracks, %d packets; want 2, 2 and media",
					rep.Failures, rep.AudioTracks, rep.VideoTracks, rep.RxPackets)
			}
			mu.Lock()
			defer mu.Unlock()
			if subscribers < 2 {
				t.Fatalf("%d subscriber PeerConnections on the server at the window's end, want ≥ 2", subscribers)
			}
			// Each of the two viewers' PeerConnections gets feedback (the publisher's
			// subscriber PeerConnection receives nothing, so it has none to give).
			if got := estimated >= 2; got != tt.wantEstimate {
				t.Errorf("%d of %d subscriber PeerConnections have a downlink estimate; want estimates: %v", estimated, subscribers, tt.wantEstimate)
			}
		})
	}
}
