package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// WHEP playback (docs/whip.md): POST /whep/{roomId}/{userId} with a receive-only offer
// and a room grant with the subscribe right makes a viewer of that user's audio and
// video. A viewer is outside the room's membership (nobody hears of it; it gets only that
// user's tracks, video included without startRemoteView) and takes the tracks the user
// publishes when it starts; when they have all ended the session ends and the player
// posts again. PATCH (trickle, ICE restart) and DELETE work as for WHIP.

// layerSizes are the wanted picture sizes of the ?layer= hint: the smallest simulcast
// layer that covers the size is forwarded (no larger than the viewer's downlink allows);
// "high" (or no hint) is the largest.
var layerSizes = map[string][2]int{"low": {320, 180}, "medium": {640, 360}, "high": {0, 0}, "": {0, 0}}

// newSession is a session of kind ("whip", "whep") for the holder of a verified grant,
// a client at client (ClientKeyOf).
func (w *WHIP) newSession(kind, client string, h grantHolder, offer, ufrag string) *whipSession {
	return &whipSession{
		w: w, kind: kind, id: randomHex(16), user: userKey{h.app, h.userID}, client: client, room: h.roomID(),
		offer: offer, ufrag: ufrag, etag: randomHex(8),
		patches: rate.NewLimiter(rate.Limit(w.svc.limits.cfg.TricklesPerSecond), w.svc.limits.cfg.TricklesBurst),
	}
}

// view is POST /whep/{room}/{user}: the offer of a new viewer of user.
func (w *WHIP) view(rw http.ResponseWriter, r *http.Request) {
	wire, err := parseRoomPath(r.PathValue("room"))
	if err != nil {
		httpError(rw, http.StatusNotFound, "no such WHEP endpoint: "+err.Error())
		return
	}
	publisher := r.PathValue("user")
	if !protocol.ValidUserID(publisher) {
		httpError(rw, http.StatusNotFound, "no such WHEP endpoint: the userId is not [A-Za-z0-9_-]{1,64}")
		return
	}
	size, known := layerSizes[r.URL.Query().Get("layer")]
	if !known {
		httpError(rw, http.StatusBadRequest, "layer must be low, medium or high")
		return
	}
	holder, offer, ufrag, ok := w.readOffer(rw, r, wire, false)
	if !ok || w.routed(rw, r, holder.roomID()) || !w.takeOffer(rw, r) {
		return
	}
	ws, answer, status, err := w.startViewer(r.Context(), ClientKeyOf(r.RemoteAddr), holder, publisher, size, offer, ufrag)
	if err != nil {
		httpError(rw, status, err.Error())
		return
	}
	w.created(rw, ws, answer)
}

// startViewer makes the viewer session of an offer: a PeerConnection that answers with
// the publisher's current tracks.
func (w *WHIP) startViewer(ctx context.Context, client string, h grantHolder, publisher string, size [2]int, offer, ufrag string) (*whipSession, string, int, error) {
	ws := w.newSession("whep", client, h, offer, ufrag)
	if status, err := w.admit(ws); err != nil {
		return nil, "", status, err
	}
	tracks, err := w.svc.rooms.PublishedTracks(ws.room, publisher)
	if err != nil {
		w.end(ws, "nothing to view")
		return nil, "", http.StatusNotFound, fmt.Errorf("%q publishes nothing in room %s", publisher, h.room)
	}
	peer, err := w.svc.rooms.NewViewerPeer(h.userID)
	if err != nil {
		w.end(ws, "no peer")
		return nil, "", http.StatusServiceUnavailable, err
	}
	peer.OnConnectionStateChange(ws.stateChanged)
	if strings.Contains(offer, "m=video ") {
		tracks = w.awaitVideo(ctx, ws.room, publisher, tracks)
	}
	m := &viewerMedia{peer: peer, tracks: tracks, size: size}
	if !ws.setMedia(m) {
		return nil, "", http.StatusServiceUnavailable, errors.New("the server is shutting down")
	}
	answer, status, err := ws.negotiate(ctx, m, offer)
	if err != nil {
		w.end(ws, "offer refused")
		return nil, "", status, err
	}
	// The session ends when every track it carries has ended (the publisher left or
	// stopped publishing): the player then posts again.
	var live atomic.Int32
	live.Store(int32(len(tracks)))
	for _, t := range tracks {
		m.unhook(t.OnClose(func() {
			if live.Add(-1) == 0 {
				w.async(func() { w.end(ws, "the publisher's tracks ended") })
			}
		}))
	}
	ws.armConnectTimer()
	w.log.Info("whep session started", "session", ws.id, "user", h.userID, "publisher", publisher, "room", ws.room.String())
	return ws, answer, 0, nil
}

// viewerVideoWait bounds how long a WHEP answer waits for a video the publisher announced
// (its offer sends video) but whose first packet has not arrived yet (docs/whip.md, D111).
const viewerVideoWait = 5 * time.Second

// awaitVideo returns the publisher's tracks once they include video, when tracks have
// none and the publisher announced video: a WHEP player cannot be offered a track later,
// so an answer without the video would leave it audio-only for the session's life. It
// gives up (returning what there is) after viewerVideoWait, when the publisher no longer
// announces video, or when ctx ends.
func (w *WHIP) awaitVideo(ctx context.Context, id room.ID, publisher string, tracks []*sfu.Receiver) []*sfu.Receiver {
	rooms := w.svc.rooms
	if !rooms.AwaitsVideo(id, publisher) {
		return tracks
	}
	deadline := time.NewTimer(viewerVideoWait)
	defer deadline.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return tracks
		case <-deadline.C:
			return tracks
		case <-poll.C:
		}
		if !rooms.AwaitsVideo(id, publisher) {
			if now, err := rooms.PublishedTracks(id, publisher); err == nil {
				return now
			}
			return tracks
		}
	}
}

// viewerMedia is a WHEP viewer's PeerConnection and the tracks it carries. The
// publisher's tracks outlive many viewers: close cancels the viewer's OnClose functions
// on them, which would otherwise keep every past session (and its offer) in memory for as
// long as the publisher publishes.
type viewerMedia struct {
	peer   *sfu.Subscriber
	tracks []*sfu.Receiver
	size   [2]int // wanted picture size of the video (?layer=)

	mu      sync.Mutex
	closed  bool
	cancels []func() // of the OnClose functions on tracks
}

// unhook keeps cancel to run at close (at once when the viewer closed already).
func (m *viewerMedia) unhook(cancel func()) {
	m.mu.Lock()
	closed := m.closed
	if !closed {
		m.cancels = append(m.cancels, cancel)
	}
	m.mu.Unlock()
	if closed {
		cancel()
	}
}

func (m *viewerMedia) answer(ctx context.Context, offer string) (string, int, error) {
	_, added, err := m.peer.AnswerViewer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}, m.tracks)
	if err != nil {
		return "", http.StatusBadRequest, fmt.Errorf("offer refused: %v", err)
	}
	for _, d := range added {
		if d.Kind() == webrtc.RTPCodecTypeVideo {
			d.SetWantedSize(m.size[0], m.size[1])
		}
	}
	answer, err := m.peer.GatheredLocalDescription(ctx)
	if err != nil {
		return "", http.StatusInternalServerError, fmt.Errorf("answer: %v", err)
	}
	return answer.SDP, 0, nil
}

func (m *viewerMedia) addCandidate(c webrtc.ICECandidateInit) error {
	return m.peer.AddICECandidate(c)
}

func (m *viewerMedia) close() error {
	m.mu.Lock()
	m.closed = true
	cancels := m.cancels
	m.cancels = nil
	m.mu.Unlock()
	for _, cancel := range cancels {
		cancel()
	}
	return m.peer.Close()
}

var _ sessionMedia = (*viewerMedia)(nil)
var _ sessionMedia = publisherMedia{}
var _ room.Signaller = ingestSignaller{}
