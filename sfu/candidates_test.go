package sfu

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// hostCandidate is a UDP host candidate attribute value for ip:port.
func hostCandidate(ip string, port int) string {
	return fmt.Sprintf("candidate:%d 1 udp 2130706431 %s %d typ host", port, ip, port)
}

// withCandidates appends a=candidate lines to the last media section of sdp.
func withCandidates(sdp string, values ...string) string {
	for _, v := range values {
		sdp += "a=" + v + "\r\n"
	}
	return sdp
}

// publishingClient is a client PeerConnection with tracks (an audio track when none is
// given) and its offer, set as its local description.
func publishingClient(t testing.TB, tracks ...webrtc.TrackLocal) (*webrtc.PeerConnection, webrtc.SessionDescription) {
	t.Helper()
	return publishingClientWith(t, webrtc.Configuration{}, tracks...)
}

// publishingClientWith is publishingClient with a PeerConnection configuration.
func publishingClientWith(t testing.TB, config webrtc.Configuration, tracks ...webrtc.TrackLocal) (*webrtc.PeerConnection, webrtc.SessionDescription) {
	t.Helper()
	return offerTracks(t, newClientPCWith(t, config), tracks...)
}

// offerTracks adds tracks (an Opus track when none) to client and sets its offer.
func offerTracks(t testing.TB, client *webrtc.PeerConnection, tracks ...webrtc.TrackLocal) (*webrtc.PeerConnection, webrtc.SessionDescription) {
	t.Helper()
	if len(tracks) == 0 {
		audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "alice")
		if err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, audio)
	}
	for _, tr := range tracks {
		if _, err := client.AddTrack(tr); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := client.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	return client, offer
}

// remoteCandidates lists the addresses (ip:port) of the remote candidates p's ICE agent holds.
func remoteCandidateAddrs(p *transport) []string {
	var out []string
	for _, s := range p.pc.GetStats() {
		if c, ok := s.(webrtc.ICECandidateStats); ok && c.Type == webrtc.StatsTypeRemoteCandidate {
			out = append(out, net.JoinHostPort(c.IP, fmt.Sprint(c.Port)))
		}
	}
	return out
}

// TestCandidateCaps: a PeerConnection queues at most max_pending_candidates before its
// remote description and takes at most max_remote_candidates per ICE generation
// (trickled plus those in the description); an ICE restart starts a new count; a
// description with more is refused. Another PeerConnection is unaffected throughout.
func TestCandidateCaps(t *testing.T) {
	const pendingCap, totalCap = 4, 6
	e := newTestEngine(t, func(c *Config) { c.MaxPendingCandidates, c.MaxRemoteCandidates = pendingCap, totalCap })
	alice, err := e.NewPublisher("alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := e.NewPublisher("bob")
	if err != nil {
		t.Fatal(err)
	}
	port := 40000
	trickle := func(p *Publisher) error {
		port++
		return p.AddICECandidate(webrtc.ICECandidateInit{Candidate: hostCandidate("127.0.0.1", port)})
	}
	endOfCandidates := func(p *Publisher) error { return p.AddICECandidate(webrtc.ICECandidateInit{}) }
	steps := []struct {
		name string
		add  func() error
		want error
	}{
		{"queued 1", func() error { return trickle(alice) }, nil},
		{"queued 2", func() error { return trickle(alice) }, nil},
		{"queued 3", func() error { return trickle(alice) }, nil},
		{"end of candidates queues too", func() error { return endOfCandidates(alice) }, nil},
		{"queue full", func() error { return trickle(alice) }, ErrTooManyCandidates},
		{"queue full for end of candidates", func() error { return endOfCandidates(alice) }, ErrTooManyCandidates},
		{"another PeerConnection queues", func() error { return trickle(bob) }, nil},
	}
	for _, st := range steps {
		if err := st.add(); !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.want)
		}
	}
	if got := e.CandidateRefusals(); got != (CandidateRefusals{Pending: 2}) {
		t.Fatalf("refusals after the queue filled: %+v", got)
	}

	client, offer := publishingClient(t)
	inSDP := strings.Count(offer.SDP, "a=candidate:")
	answer, err := alice.HandleOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetRemoteDescription(answer); err != nil {
		t.Fatal(err)
	}
	for i := 3 + inSDP; i < totalCap; i++ { // the three queued ones count
		if err := trickle(alice); err != nil {
			t.Fatalf("candidate %d of %d: %v", i+1, totalCap, err)
		}
	}
	if err := trickle(alice); !errors.Is(err, ErrTooManyCandidates) {
		t.Fatalf("candidate %d: %v, want ErrTooManyCandidates", totalCap+1, err)
	}
	if err := trickle(bob); err != nil {
		t.Fatalf("bob refused because of alice: %v", err)
	}

	restart, err := client.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetLocalDescription(restart); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.HandleOffer(restart); err != nil {
		t.Fatal(err)
	}
	if err := trickle(alice); err != nil {
		t.Fatalf("after an ICE restart: %v", err)
	}

	var many []string
	for i := 0; i <= totalCap; i++ {
		many = append(many, hostCandidate("127.0.0.1", 50000+i))
	}
	restart.SDP = withCandidates(restart.SDP, many...)
	if _, err := alice.HandleOffer(restart); !errors.Is(err, ErrTooManyCandidates) {
		t.Fatalf("offer with %d candidates: %v, want ErrTooManyCandidates", len(many), err)
	}
	if got := e.CandidateRefusals(); got != (CandidateRefusals{Pending: 2, Total: 2}) {
		t.Fatalf("refusals at the end: %+v", got)
	}
}

// TestDeniedCandidatesNeverReachICE: with the default rtc.deny_candidate_cidrs, trickled
// link-local and metadata candidates are refused with ErrCandidateDenied and such
// candidates in an offer are removed; neither reaches the ICE agent, while allowed
// candidates (trickled and in the SDP) do and the PeerConnection connects.
func TestDeniedCandidatesNeverReachICE(t *testing.T) {
	e := newTestEngine(t)
	pub, err := e.NewPublisher("alice")
	if err != nil {
		t.Fatal(err)
	}
	client, offer := publishingClient(t)
	connectCandidates(t, client, pub)
	offer.SDP = withCandidates(offer.SDP, hostCandidate("169.254.169.254", 4444), hostCandidate("127.0.0.1", 4445))
	answerOffer(t, client, pub, offer)

	denied := []struct{ name, ip string }{
		{"cloud metadata", "169.254.169.254"},
		{"IPv4 link-local", "169.254.10.20"},
		{"IPv6 link-local", "fe80::1"},
		{"IPv6 link-local with zone", "fe80::1%eth0"},
		{"EC2 IPv6 metadata", "fd00:ec2::254"},
		{"IPv4-mapped metadata", "::ffff:169.254.169.254"},
	}
	for _, tc := range denied {
		t.Run(tc.name, func(t *testing.T) {
			err := pub.AddICECandidate(webrtc.ICECandidateInit{Candidate: hostCandidate(tc.ip, 4446)})
			if !errors.Is(err, ErrCandidateDenied) {
				t.Fatalf("AddICECandidate(%s) = %v, want ErrCandidateDenied", tc.ip, err)
			}
		})
	}
	if err := pub.AddICECandidate(webrtc.ICECandidateInit{Candidate: hostCandidate("127.0.0.1", 4447)}); err != nil {
		t.Fatalf("allowed candidate refused: %v", err)
	}
	waitFor(t, func() bool {
		have := remoteCandidateAddrs(&pub.transport)
		return pub.pc.ConnectionState() == webrtc.PeerConnectionStateConnected &&
			slices.Contains(have, "127.0.0.1:4445") && slices.Contains(have, "127.0.0.1:4447")
	})
	for _, addr := range remoteCandidateAddrs(&pub.transport) {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("the ICE agent holds remote candidate %s", addr)
		}
	}
	if got := e.CandidateRefusals(); got != (CandidateRefusals{Denied: uint64(len(denied)) + 1}) {
		t.Fatalf("refusals: %+v, want %d denied", got, len(denied)+1)
	}
	// Closed here, before the client: pion's GetStats and a close prompted by the
	// client's DTLS close_notify race on the PeerConnection's stats getter.
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
}
