package signaling_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// deadOffer is a WHIP offer whose PeerConnection is closed at once: the server's session
// never connects and holds its place until whip.connect_timeout, as a hostile client's.
func deadOffer(t *testing.T) string {
	t.Helper()
	pc, _, _ := newWHIPPeer(t)
	offer := gatheredOffer(t, pc)
	must(t, pc.Close())
	return offer
}

// TestWHIPSessionsPerIP (D315): one client IP holding grants of many users (WHEP viewers
// are often anonymous users, each with a grant) cannot take every WHIP/WHEP session of
// the server. Before whip.max_sessions_per_ip, 127.0.0.1 held all of whip.max_sessions
// with offers that never connect (a PeerConnection, its goroutines and sockets each, for
// whip.connect_timeout, again and again) and every other client got 503; now the address
// gets 429 naming the key past its cap and 127.0.0.2 is served.
func TestWHIPSessionsPerIP(t *testing.T) {
	st := newStack(t)
	cfg := signaling.DefaultWHIPConfig()
	cfg.MaxSessions, cfg.MaxSessionsPerIP, cfg.OffersPerMinute = 8, 3, 0
	w, base := st.whipServer(t, cfg)
	offer := deadOffer(t)
	before := runtime.NumGoroutine()
	created := 0
	for i := range cfg.MaxSessions {
		user := fmt.Sprintf("mallory%d", i)
		status, _, body := testhttp.DoFrom(t, "127.0.0.1", http.MethodPost, base+"/whip/800", "application/sdp",
			grant(t, user, protocol.IntRoom(800), protocol.RoomRights{Publish: true}), offer, nil)
		switch status {
		case http.StatusCreated:
			created++
		case http.StatusTooManyRequests:
			if !strings.Contains(body, "whip.max_sessions_per_ip") {
				t.Fatalf("POST %d: 429 %q names no limit", i, body)
			}
		default:
			t.Fatalf("POST %d of 127.0.0.1: %d %s", i, status, body)
		}
	}
	t.Logf("127.0.0.1: %d sessions of %d, %d goroutines more", created, cfg.MaxSessions, runtime.NumGoroutine()-before)
	if created != cfg.MaxSessionsPerIP {
		t.Fatalf("127.0.0.1 holds %d sessions, want whip.max_sessions_per_ip = %d", created, cfg.MaxSessionsPerIP)
	}
	status, _, body := testhttp.DoFrom(t, "127.0.0.2", http.MethodPost, base+"/whip/801", "application/sdp",
		grant(t, "alice", protocol.IntRoom(801), protocol.RoomRights{Publish: true}), offer, nil)
	if status != http.StatusCreated {
		t.Fatalf("127.0.0.2 beside 127.0.0.1's sessions: %d %s, want 201", status, body)
	}
	if _, perIP := w.Refusals(); perIP != uint64(cfg.MaxSessions-cfg.MaxSessionsPerIP) {
		t.Fatalf("refusals counted: %d, want %d", perIP, cfg.MaxSessions-cfg.MaxSessionsPerIP)
	}
}

// TestWHIPOffersPerIP (D315): a POST/DELETE loop of one client IP (a WHIP publisher
// joining and leaving a room, each join and leave an event to everyone in it, each POST
// a PeerConnection built and gathered) is bounded by whip.offers_per_minute and
// whip.offers_burst: 429 with Retry-After naming the limit, and another IP is served.
func TestWHIPOffersPerIP(t *testing.T) {
	st := newStack(t)
	cfg := signaling.DefaultWHIPConfig()
	cfg.OffersPerMinute, cfg.OffersBurst = 1, 3
	w, base := st.whipServer(t, cfg)
	offer := deadOffer(t)
	bearer := grant(t, "mallory", protocol.IntRoom(810), protocol.RoomRights{Publish: true})
	accepted := 0
	for i := range 10 {
		status, h, body := testhttp.DoFrom(t, "127.0.0.1", http.MethodPost, base+"/whip/810", "application/sdp", bearer, offer, nil)
		if status == http.StatusTooManyRequests {
			if h.Get("Retry-After") == "" || !strings.Contains(body, "whip.offers_per_minute") {
				t.Fatalf("POST %d: 429 without Retry-After or naming no limit: %v %q", i, h, body)
			}
			continue
		}
		if status != http.StatusCreated {
			t.Fatalf("POST %d: %d %s", i, status, body)
		}
		accepted++
		loc := h.Get("Location")
		if status, _, body := testhttp.DoFrom(t, "127.0.0.1", http.MethodDelete, base+loc, "", "", "", nil); status != http.StatusOK {
			t.Fatalf("DELETE %s: %d %s", loc, status, body)
		}
	}
	if accepted != cfg.OffersBurst {
		t.Fatalf("%d of 10 POST/DELETE rounds accepted, want whip.offers_burst = %d", accepted, cfg.OffersBurst)
	}
	if offers, _ := w.Refusals(); offers != uint64(10-cfg.OffersBurst) {
		t.Fatalf("refusals counted: %d, want %d", offers, 10-cfg.OffersBurst)
	}
	status, _, body := testhttp.DoFrom(t, "127.0.0.2", http.MethodPost, base+"/whip/811", "application/sdp",
		grant(t, "alice", protocol.IntRoom(811), protocol.RoomRights{Publish: true}), offer, nil)
	if status != http.StatusCreated {
		t.Fatalf("127.0.0.2: %d %s, want 201", status, body)
	}
	waitUntil(t, ctxT(t, 30*time.Second), "mallory's sessions gone", func() bool { return w.Sessions() == 1 })
}
