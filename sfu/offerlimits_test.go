package sfu

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// offerWithSections is an SDP offer with one m-section per entry of sections, each
// "kind port direction" (e.g. "video 9 sendonly"), optionally followed by "rids=N" or
// "recvrids=N" for N a=rid lines of that direction.
func offerWithSections(sections ...string) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	for i, s := range sections {
		var kind, dir, rids string
		var port int
		_, _ = fmt.Sscan(s, &kind, &port, &dir, &rids)
		fmt.Fprintf(&b, "m=%s %d UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:%d\r\na=%s\r\n", kind, port, i, dir)
		ridDir, n := "send", 0
		if _, err := fmt.Sscanf(rids, "rids=%d", &n); err != nil {
			ridDir = "recv"
			_, _ = fmt.Sscanf(rids, "recvrids=%d", &n)
		}
		for r := range n {
			fmt.Fprintf(&b, "a=rid:r%d %s\r\n", r, ridDir)
		}
	}
	return b.String()
}

func TestCheckPublishOffer(t *testing.T) {
	tests := []struct {
		name     string
		sections []string
		refused  bool
	}{
		{"audio and video", []string{"audio 9 sendonly", "video 9 sendrecv"}, false},
		{"four sending sections", slices.Repeat([]string{"video 9 sendonly"}, MaxPublishSections), false},
		{"one sending section too many", slices.Repeat([]string{"video 9 sendonly"}, MaxPublishSections+1), true},
		{"sendrecv counts", slices.Repeat([]string{"audio 9 sendrecv"}, MaxPublishSections+1), true},
		{"stopped, receive-only and inactive sections do not send",
			append(slices.Repeat([]string{"video 0 sendonly"}, 6), append(slices.Repeat([]string{"video 9 recvonly"}, 5), slices.Repeat([]string{"audio 9 inactive"}, 5)...)...), false},
		{"application sections do not send", slices.Repeat([]string{"application 9 sendrecv"}, MaxOfferSections), false},
		{"one section too many in all", slices.Repeat([]string{"video 0 sendonly"}, MaxOfferSections+1), true},
		{"unparsable: left to pion", nil, false},
		{"four simulcast rids", []string{"video 9 sendonly rids=4"}, false},
		{"five simulcast rids", []string{"video 9 sendonly rids=5"}, true},
		{"receive rids do not count", []string{"video 9 recvonly recvrids=9"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offer := "garbage"
			if tt.sections != nil {
				offer = offerWithSections(tt.sections...)
			}
			err := checkPublishOffer(offer)
			if got := errors.Is(err, ErrTooManyTracks); got != tt.refused {
				t.Fatalf("checkPublishOffer: %v, refused want %v", err, tt.refused)
			}
		})
	}
}

// TestPublisherRefusesTrackBomb: a publisher offering more sending sections than
// MaxPublishSections is refused before its PeerConnection takes any of them (each would
// be a Receiver with its own NACK buffer once media arrives), and the Publisher still
// takes a normal offer afterwards.
func TestPublisherRefusesTrackBomb(t *testing.T) {
	e := newTestEngine(t)
	pub, err := e.NewPublisher("mallory")
	if err != nil {
		t.Fatal(err)
	}
	var tracks []webrtc.TrackLocal
	for i := range MaxPublishSections + 1 {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, fmt.Sprintf("v%d", i), "mallory")
		if err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
	}
	_, bomb := publishingClient(t, tracks...)
	if _, err := pub.HandleOffer(bomb); !errors.Is(err, ErrTooManyTracks) {
		t.Fatalf("offer of %d video tracks: %v, want ErrTooManyTracks", len(tracks), err)
	}
	if n := len(pub.pc.GetTransceivers()); n != 0 {
		t.Fatalf("the refused offer left %d transceivers", n)
	}
	_, offer := publishingClient(t, tracks[:MaxPublishSections]...)
	if _, err := pub.HandleOffer(offer); err != nil {
		t.Fatalf("offer of %d video tracks: %v", MaxPublishSections, err)
	}
}
