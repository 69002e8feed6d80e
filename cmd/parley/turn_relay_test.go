package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
)

// TestRelayOnlyCallThroughTURN: two relay-only pion clients (ICETransportPolicyRelay, the
// TURN servers of their login result) call each other through Parley's signaling; audio
// and video flow through the embedded TURN server over UDP, over TCP and over TLS, every
// PeerConnection's selected pair is local relay (over that transport) ↔ the SFU.
func TestRelayOnlyCallThroughTURN(t *testing.T) {
	r := startServe(t, turnConfig(t))
	tlsConfig := trustTURNCertificate(t, r.srv)
	tests := []struct {
		name          string
		keep          func(url string) bool
		relayProtocol string
	}{
		{"udp", func(u string) bool { return strings.HasPrefix(u, "turn:") && strings.HasSuffix(u, "?transport=udp") }, "udp"},
		{"tcp", func(u string) bool { return strings.HasPrefix(u, "turn:") && strings.HasSuffix(u, "?transport=tcp") }, "tcp"},
		{"tls", func(u string) bool { return strings.HasPrefix(u, "turns:") }, "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.srv.turn.Stats()
			peer := client.PeerConfig{Loopback: true, RelayOnly: true, ICEServerURLFilter: tt.keep, TURNTLSConfig: tlsConfig}
			alice := loginWithPeer(t, r.wsURL(), "alice-"+tt.name, peer)
			bob := loginWithPeer(t, r.wsURL(), "bob-"+tt.name, peer)
			if login, _ := alice.LoginResult(); len(login.ICEServers) == 0 {
				t.Fatal("the login result carries no iceServers")
			}
			ctx := ctxFor(t, 60*time.Second)
			videoCall(t, ctx, alice, bob)

			checkCallMedia(t, ctx, alice, bob, true, func(path client.SelectedPath) string {
				if path.Local.Typ != webrtc.ICECandidateTypeRelay || path.LocalRelayProtocol != tt.relayProtocol {
					return "a local relay over " + tt.relayProtocol
				}
				if path.Remote.Typ != webrtc.ICECandidateTypeHost || int(path.Remote.Port) != r.srv.engine.UDPAddr().Port {
					return fmt.Sprintf("the SFU's media port %d on the remote side", r.srv.engine.UDPAddr().Port)
				}
				return ""
			})
			after := r.srv.turn.Stats()
			// Each client relays its publisher and subscriber connections: four allocations.
			if n := after.AllocationsTotal - before.AllocationsTotal; n < 4 {
				t.Errorf("%d new allocations, want >= 4", n)
			}
			const minBytes = 50_000 // 100+ video packets each way are far more than this
			if to, from := after.RelayedBytesToPeers-before.RelayedBytesToPeers, after.RelayedBytesFromPeers-before.RelayedBytesFromPeers; to < minBytes || from < minBytes {
				t.Errorf("relayed %d bytes to and %d from peers, want >= %d each way", to, from, minBytes)
			}
			if err := alice.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*client.Conn{alice, bob} {
				if err := c.StopMedia(); err != nil {
					t.Errorf("%s: stop media: %v", c.UserID(), err)
				}
			}
		})
	}
}
