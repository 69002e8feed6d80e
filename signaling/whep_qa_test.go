package signaling_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestWHEPViewersLeaveNothingOnTrack: a player that posts and deletes WHEP sessions in a
// loop (a reconnecting player, or an attacker with a subscribe grant) leaves nothing on
// the publisher's tracks: each session's OnClose function goes with it. Before, every
// session stayed referenced (with its offer, up to whip.max_body_bytes) for as long as
// the publisher published.
func TestWHEPViewersLeaveNothingOnTrack(t *testing.T) {
	st := newStack(t)
	w, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	roomID := protocol.IntRoom(77)
	alice := st.login(t, "alice")
	inRoom(t, alice, roomID, client.MediaOptions{Audio: true, Video: true})
	waitPublishing(t, alice, 5)
	tracks, err := st.service.Rooms().PublishedTracks(roomIn(t, roomID), "alice")
	must(t, err)
	hooks := func() int {
		n := 0
		for _, tr := range tracks {
			n += tr.CloseHooks()
		}
		return n
	}
	before := hooks()
	sub := grant(t, "viewer", roomID, protocol.RoomRights{Subscribe: true})
	const sessions = 4
	for i := range sessions {
		p, status, body := playWHEP(t, base, "/whep/77/alice", sub)
		if p == nil {
			t.Fatalf("POST %d: %d %s", i, status, body)
		}
		if status, _, body := testhttp.Do(t, http.MethodDelete, p.location, "", "", "", nil); status != http.StatusOK {
			t.Fatalf("DELETE %d: %d %s", i, status, body)
		}
		p.close()
	}
	ctx := ctxT(t, 30*time.Second)
	waitUntil(t, ctx, "no WHEP session", func() bool { return w.Sessions() == 0 })
	if after := hooks(); after != before {
		t.Fatalf("the publisher's tracks hold %d OnClose functions after %d viewer sessions came and went, %d before",
			after, sessions, before)
	}
}

// TestWHEPViewerWaitsForAnnouncedVideo (D111): a player that posts after the publisher's
// audio arrived and before its announced video did gets the video too. WHEP (unlike the
// WebSocket protocol) has no way to offer the player a track later, so before, such a
// player stayed audio-only for the whole session.
func TestWHEPViewerWaitsForAnnouncedVideo(t *testing.T) {
	st := newStack(t)
	_, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	roomID := protocol.IntRoom(78)
	gate := make(chan struct{})
	publishWHIPGated(t, base, "78", grant(t, "obs", roomID, protocol.RoomRights{Publish: true}), gate)
	ctx := ctxT(t, 30*time.Second)
	waitUntil(t, ctx, "the publisher's audio alone", func() bool {
		tracks, err := st.service.Rooms().PublishedTracks(roomIn(t, roomID), "obs")
		return err == nil && len(tracks) == 1
	})
	// The video starts once the server made the viewer's PeerConnection: after it looked
	// at the publisher's tracks, so a server that does not wait answers without video.
	go func() {
		for ctx.Err() == nil {
			for _, p := range st.engine.Subscribers() {
				if p.ID() == "viewer" {
					close(gate)
					return
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	p, status, body := playWHEP(t, base, "/whep/78/obs", grant(t, "viewer", roomID, protocol.RoomRights{Subscribe: true}))
	if p == nil {
		t.Fatalf("WHEP POST: %d %s", status, body)
	}
	waitUntil(t, ctx, "video at the player", func() bool { _, video, _ := p.counts(); return video > 0 })
}
