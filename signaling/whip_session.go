package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// whipSession is one WHIP publisher or WHEP viewer: its media (a room participant, or a
// viewer PeerConnection), the offer it made (an ICE restart rewrites its credentials)
// and the ETag of its ICE session.
//
// Concurrency: patching serializes the PATCHes of the session (held through an ICE
// restart's negotiation); mu guards the fields below it and is held only briefly (pion's
// goroutines take it in stateChanged), never while taking WHIP.mu.
type whipSession struct {
	w        *WHIP
	kind     string // "whip" or "whep": the first segment of its resource's path
	id       string // the resource id: 128 random bits, the capability PATCH and DELETE need
	user     userKey
	client   string   // the client's IP (ClientKeyOf): whip.max_sessions_per_ip
	room     room.ID  // in the user's app
	presence *session // WHIP: the publisher's stand-in in the room events

	patching sync.Mutex
	patches  *rate.Limiter // limits.trickles_per_second and trickles_burst: PATCHes of the session

	mu        sync.Mutex
	media     sessionMedia // nil until set up
	offer     string       // the last offer applied
	ufrag     string       // its ICE username fragment
	etag      string
	connected bool
	ended     bool
	timer     *time.Timer // whip.connect_timeout
}

// sessionMedia is the media side of a session.
type sessionMedia interface {
	// answer applies an offer and returns the answer with the server's candidates, or
	// the HTTP status of the failure with its error.
	answer(ctx context.Context, offer string) (string, int, error)
	addCandidate(c webrtc.ICECandidateInit) error
	close() error
}

// publisherMedia is a WHIP publisher's room participant (publish right only).
type publisherMedia struct{ p *room.Participant }

func (m publisherMedia) answer(ctx context.Context, offer string) (string, int, error) {
	if _, err := m.p.HandlePublisherOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", http.StatusBadRequest, fmt.Errorf("offer refused: %v", err)
	}
	answer, err := m.p.GatheredPublisherAnswer(ctx)
	if err != nil {
		return "", http.StatusInternalServerError, fmt.Errorf("answer: %v", err)
	}
	return answer.SDP, 0, nil
}

func (m publisherMedia) addCandidate(c webrtc.ICECandidateInit) error {
	return m.p.AddICECandidate(room.TargetPublisher, c)
}

func (m publisherMedia) close() error { return m.p.Leave() }

// setMedia installs the session's media, unless the session ended meanwhile (Close):
// then it closes m and reports false.
func (ws *whipSession) setMedia(m sessionMedia) bool {
	ws.mu.Lock()
	ended := ws.ended
	if !ended {
		ws.media = m
	}
	ws.mu.Unlock()
	if ended {
		_ = m.close()
	}
	return !ended
}

// negotiate applies offer and returns the answer with the server's candidates (waiting
// at most whip.gather_timeout for them).
func (ws *whipSession) negotiate(ctx context.Context, m sessionMedia, offer string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, ws.w.cfg.GatherTimeout)
	defer cancel()
	return m.answer(ctx, offer)
}

// patch applies a trickle fragment: new ICE credentials restart ICE and return the
// server's fragment and the new ETag; otherwise its candidates are added and the answer
// is empty.
func (ws *whipSession) patch(ctx context.Context, frag sdpFrag, ifMatch string) (answer, etag string, status int, err error) {
	ws.patching.Lock()
	defer ws.patching.Unlock()
	ws.mu.Lock()
	m, ended, offer, ufrag, etag := ws.media, ws.ended, ws.offer, ws.ufrag, ws.etag
	ws.mu.Unlock()
	if ended || m == nil {
		return "", "", http.StatusNotFound, errors.New("no such session")
	}
	if ifMatch != "" && ifMatch != "*" && ifMatch != quoteETag(etag) {
		return "", "", http.StatusPreconditionFailed, errors.New("If-Match does not name the current ICE session")
	}
	if frag.Ufrag != "" && frag.Ufrag != ufrag {
		offer = withICECredentials(offer, frag.Ufrag, frag.Pwd)
		full, st, err := ws.negotiate(ctx, m, offer)
		if err != nil {
			return "", "", st, err
		}
		if answer, err = answerFrag(full); err != nil {
			return "", "", http.StatusInternalServerError, err
		}
		ufrag, etag = frag.Ufrag, randomHex(8)
		ws.mu.Lock()
		ws.offer, ws.ufrag, ws.etag = offer, ufrag, etag
		ws.mu.Unlock()
	}
	for _, c := range frag.Candidates {
		init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMLineIndex: &c.MLine, UsernameFragment: &ufrag}
		if c.Mid != "" {
			init.SDPMid = &c.Mid
		}
		if err := m.addCandidate(init); err != nil {
			return "", "", http.StatusBadRequest, fmt.Errorf("candidate refused: %v", err)
		}
	}
	return answer, etag, 0, nil
}

// checkPatchRate takes a token of the session's PATCH bucket (the WebSocket trickle
// limit: a PATCH is a trickle or an ICE restart), or refuses with the wait.
func (ws *whipSession) checkPatchRate() error {
	err := take(ws.patches, 1, ws.w.svc.now(), protocol.LimitTrickles)
	var limited *protocol.Error
	if !errors.As(err, &limited) {
		return err
	}
	ws.w.svc.limits.refusedSession[limitTrickles].Add(1)
	d, _ := limited.RateLimit()
	return &retryAfterError{time.Duration(d.RetryAfterMs) * time.Millisecond,
		errors.New("too many PATCHes of this session (limits.trickles_per_second)")}
}

// currentETag is the ETag of the session's ICE session.
func (ws *whipSession) currentETag() string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.etag
}

// markEnded flips the session to ended once and returns its media (nil when it had none
// yet); false when it had ended already.
func (ws *whipSession) markEnded() (sessionMedia, bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.ended {
		return nil, false
	}
	ws.ended = true
	if ws.timer != nil {
		ws.timer.Stop()
	}
	return ws.media, true
}

// armConnectTimer ends the session unless its PeerConnection connects within
// whip.connect_timeout.
func (ws *whipSession) armConnectTimer() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.connected || ws.ended {
		return
	}
	ws.timer = time.AfterFunc(ws.w.cfg.ConnectTimeout, func() {
		ws.w.async(func() { ws.w.end(ws, "not connected within whip.connect_timeout") })
	})
}

// stateChanged follows the publisher PeerConnection: connected stops the connect timer;
// failed (ICE gave up: rtc.ice_failed_timeout) or closed ends the session.
func (ws *whipSession) stateChanged(state webrtc.PeerConnectionState) {
	switch state {
	case webrtc.PeerConnectionStateConnected:
		ws.mu.Lock()
		ws.connected = true
		if ws.timer != nil {
			ws.timer.Stop()
		}
		ws.mu.Unlock()
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		ws.w.async(func() { ws.w.end(ws, "connection "+strings.ToLower(state.String())) })
	}
}

// ---- presence of ingest publishers in the Service ----

// ingestSession is the session that stands for a WHIP publisher in the room events
// (roomevents.go): logged in as (app, userID), with no connection and nothing to tell
// (marked ended, so notify drops every notification).
func (s *Service) ingestSession(app int, userID string) *session {
	sess := &session{svc: s, id: randomHex(8), app: app, userID: userID, ended: true}
	sess.effects.count = &s.effects
	return sess
}

// addIngest makes sess userID's session in room id for the room events.
func (s *Service) addIngest(id room.ID, userID string, sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setIngestLocked(id, userID, sess)
}

// setIngestLocked records sess as userID's ingest session in room id (Service.mu held).
func (s *Service) setIngestLocked(id room.ID, userID string, sess *session) {
	if s.ingest == nil {
		s.ingest = make(map[room.ID]map[string]*session)
	}
	if s.ingest[id] == nil {
		s.ingest[id] = make(map[string]*session)
	}
	s.ingest[id][userID] = sess
}

// removeIngest forgets sess (when it is still userID's ingest session in room id).
func (s *Service) removeIngest(id room.ID, userID string, sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ingest[id][userID] == sess {
		delete(s.ingest[id], userID)
		if len(s.ingest[id]) == 0 {
			delete(s.ingest, id)
		}
	}
}
