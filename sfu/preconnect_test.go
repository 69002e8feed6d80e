package sfu

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestPreConnectReservedSections: a subscriber Peer pre-connects with sections reserved
// for alice's audio and video. Its first offer carries them (send sections under alice's
// stream ID); once the client answered and connected, alice's DownTracks take them and
// their packets reach the client with no further offer, while a DownTrack of dave (nothing
// reserved), a second one of alice's video and one whose codec the section did not
// negotiate (it refuses it and counts as used) need a renegotiation as before. Without
// reservations the offer has one receive-only audio section.
func TestPreConnectReservedSections(t *testing.T) {
	tests := []struct {
		name      string
		reserve   []ReservedSection
		stream    string
		kind      webrtc.RTPCodecType
		mime      string   // the published codec; "" the test receiver's
		sections  []string // m= lines of the first offer, in order
		offerless bool     // the DownTrack forwards without a new offer
		used      int      // reserved sections used after it
	}{
		{"reserved video", []ReservedSection{{"alice", webrtc.RTPCodecTypeAudio}, {"alice", webrtc.RTPCodecTypeVideo}}, "alice", webrtc.RTPCodecTypeVideo, "", []string{"audio", "video"}, true, 1},
		{"reserved audio", []ReservedSection{{"alice", webrtc.RTPCodecTypeAudio}, {"alice", webrtc.RTPCodecTypeVideo}}, "alice", webrtc.RTPCodecTypeAudio, "", []string{"audio", "video"}, true, 1},
		{"codec not negotiated", []ReservedSection{{"alice", webrtc.RTPCodecTypeVideo}}, "alice", webrtc.RTPCodecTypeVideo, "video/x-none", []string{"video"}, false, 1},
		{"other stream", []ReservedSection{{"alice", webrtc.RTPCodecTypeAudio}}, "dave", webrtc.RTPCodecTypeAudio, "", []string{"audio"}, false, 0},
		{"nothing reserved", nil, "alice", webrtc.RTPCodecTypeAudio, "", []string{"audio"}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, client, offers, offer := preConnectOffer(t, newTestEngine(t), SubscriberOptions{ID: "bob", PreConnect: true, Reserve: tt.reserve})
			var mu sync.Mutex
			streams := map[string]int{} // stream ID → packets the client read
			client.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				go func() {
					for {
						if _, _, err := track.ReadRTP(); err != nil {
							return
						}
						mu.Lock()
						streams[track.StreamID()]++
						mu.Unlock()
					}
				}()
			})
			var sections []string
			for _, line := range strings.Split(offer.SDP, "\r\n") {
				if kind, ok := strings.CutPrefix(line, "m="); ok {
					sections = append(sections, strings.Fields(kind)[0])
				}
			}
			if strings.Join(sections, " ") != strings.Join(tt.sections, " ") {
				t.Fatalf("first offer's sections %v, want %v:\n%s", sections, tt.sections, offer.SDP)
			}
			if len(tt.reserve) > 0 && (!strings.Contains(offer.SDP, "a=msid:alice ") || !strings.Contains(offer.SDP, "a=sendonly")) {
				t.Fatalf("first offer has no send section under alice's stream ID:\n%s", offer.SDP)
			}
			sub.MarkLocalDescriptionSent()
			if err := sub.HandleAnswer(clientAnswer(t, client, offer)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return sub.ConnectionState() == webrtc.PeerConnectionStateConnected })

			r := testReceiver(tt.kind, nil)
			r.streamID = tt.stream
			if tt.mime != "" {
				r.codec.MimeType = tt.mime
			}
			if _, err := sub.AddDownTrack(r); err != nil {
				t.Fatal(err)
			}
			sub.mu.Lock()
			needed := sub.negotiationNeeded || sub.negotiationQueued
			sub.mu.Unlock()
			if needed == tt.offerless {
				t.Fatalf("negotiation needed after AddDownTrack = %v, want %v", needed, !tt.offerless)
			}
			total, used := sub.ReservedSections()
			if total != len(tt.reserve) || used != tt.used {
				t.Fatalf("ReservedSections() = %d, %d, want %d, %d", total, used, len(tt.reserve), tt.used)
			}
			if !tt.offerless {
				return
			}
			now := time.Now()
			write := videoWriter(t, r, &now)
			if tt.kind == webrtc.RTPCodecTypeAudio {
				seq := uint16(1)
				write = func(bool) {
					if err := r.writePacket(rtpBytes(seq, uint32(seq)*960, false, false, []byte{0xA0, byte(seq)}), now); err != nil {
						t.Fatal(err)
					}
					seq++
				}
			}
			deadline := time.Now().Add(20 * time.Second)
			for i := 0; ; i++ {
				mu.Lock()
				got := streams[tt.stream]
				mu.Unlock()
				if got > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no packet reached the client on the reserved section")
				}
				now = time.Now()
				write(i%10 == 0)
				time.Sleep(5 * time.Millisecond)
			}
			select {
			case <-offers:
				t.Fatal("the reserved section's DownTrack asked for an offer")
			default:
			}
			// A second DownTrack of the same stream and kind gets a section of its own.
			r2 := testReceiver(tt.kind, nil)
			r2.streamID, r2.trackID = tt.stream, "second"
			if _, err := sub.AddDownTrack(r2); err != nil {
				t.Fatal(err)
			}
			sub.mu.Lock()
			needed = sub.negotiationNeeded || sub.negotiationQueued
			sub.mu.Unlock()
			if !needed {
				t.Fatal("a second DownTrack of a reserved stream and kind took no section of its own")
			}
		})
	}
}

// preConnectOffer makes a pre-connecting subscriber Peer with opts and a client
// PeerConnection trickling with it, and returns them with the Peer's first offer (created,
// not yet answered) and the channel on which later OnNegotiationNeeded calls arrive.
func preConnectOffer(t *testing.T, e *Engine, opts SubscriberOptions) (*Subscriber, *webrtc.PeerConnection, <-chan struct{}, webrtc.SessionDescription) {
	t.Helper()
	sub, err := e.NewSubscriber(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	client := newClientPC(t)
	connectCandidates(t, client, sub)
	offers := make(chan struct{}, 4)
	sub.OnNegotiationNeeded(func() { offers <- struct{}{} })
	select {
	case <-offers:
	case <-time.After(20 * time.Second):
		t.Fatal("a pre-connecting subscriber asked for no offer")
	}
	offer, err := sub.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	return sub, client, offers, offer
}

// TestPreConnectReserveBounded: more than MaxReservedSections sections, or a kind that
// is neither audio nor video, are refused with ErrInvalidReserve.
func TestPreConnectReserveBounded(t *testing.T) {
	e := newTestEngine(t)
	tooMany := make([]ReservedSection, MaxReservedSections+1)
	for i := range tooMany {
		tooMany[i] = ReservedSection{StreamID: "alice", Kind: webrtc.RTPCodecTypeAudio}
	}
	for name, reserve := range map[string][]ReservedSection{
		"too many": tooMany,
		"no kind":  {{StreamID: "alice"}},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := e.NewSubscriber(SubscriberOptions{ID: "bob", PreConnect: true, Reserve: reserve})
			if !errors.Is(err, ErrInvalidReserve) {
				if p != nil {
					_ = p.Close()
				}
				t.Fatalf("NewSubscriber = %v, want ErrInvalidReserve", err)
			}
		})
	}
}
