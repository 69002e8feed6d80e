package signaling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/internal/keyedrate"
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// Media types of WHIP (RFC 9725) bodies.
const (
	mimeSDP     = "application/sdp"
	mimeSDPFrag = "application/trickle-ice-sdpfrag"
)

// WHIP serves WHIP ingest (RFC 9725; docs/whip.md): POST /whip/{roomId} with an SDP offer
// and a room grant with the publish right as bearer token makes its user a publisher in
// the room, like a client that joined and published (others see onUserJoin and its
// availability, subscribe to its audio and video); PATCH /whip/sessions/{id} trickles
// candidates or restarts ICE; DELETE ends the session. Mount it at /whip/.
//
// Concurrency: mu guards the session table and the per-user counts; a session's own
// fields are guarded by whipSession.mu, taken without WHIP.mu held, which serializes the
// requests of one session. Sessions end on DELETE, when their PeerConnection fails or
// closes, when it never connects (whip.connect_timeout), or at Close; ends that come from
// pion's goroutines or timers run on goroutines counted by wg, which Close waits for.
type WHIP struct {
	svc *Service
	cfg WHIPConfig
	log *slog.Logger
	mux *http.ServeMux

	mu       sync.Mutex
	sessions map[string]*whipSession // by resource id
	perUser  map[userKey]int
	perIP    map[string]int             // by client IP (ClientKeyOf)
	offers   *keyedrate.Buckets[string] // whip.offers_per_minute per client IP; nil without a limit
	closed   bool

	refusedOffers, refusedIP atomic.Uint64 // 429s of whip.offers_per_minute, whip.max_sessions_per_ip
	wg                       sync.WaitGroup
}

// userKey is a user of an app.
type userKey struct {
	app    int
	userID string
}

// NewWHIP builds the WHIP endpoint of the Service's rooms; it starts nothing.
func (s *Service) NewWHIP(cfg WHIPConfig) (*WHIP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &WHIP{
		svc: s, cfg: cfg, log: s.log.With("component", "whip"), mux: http.NewServeMux(),
		sessions: make(map[string]*whipSession), perUser: make(map[userKey]int), perIP: make(map[string]int),
	}
	if cfg.OffersPerMinute > 0 {
		w.offers = keyedrate.New[string](perMinute(cfg.OffersPerMinute), cfg.OffersBurst)
	}
	w.mux.HandleFunc("POST /whip/{room}", w.publish)
	w.mux.HandleFunc("OPTIONS /whip/{room}", w.options)
	w.mux.HandleFunc("PATCH /whip/sessions/{id}", w.patch)
	w.mux.HandleFunc("DELETE /whip/sessions/{id}", w.delete)
	w.mux.HandleFunc("OPTIONS /whip/sessions/{id}", w.options)
	w.mux.HandleFunc("POST /whep/{room}/{user}", w.view) // whep.go
	w.mux.HandleFunc("OPTIONS /whep/{room}/{user}", w.options)
	w.mux.HandleFunc("PATCH /whep/sessions/{id}", w.patch)
	w.mux.HandleFunc("DELETE /whep/sessions/{id}", w.delete)
	w.mux.HandleFunc("OPTIONS /whep/sessions/{id}", w.options)
	return w, nil
}

// ServeHTTP applies CORS (signaling.allowed_origins) and routes the request.
func (w *WHIP) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" {
		if !originAllowed(w.svc.cfg.Signaling.AllowedOrigins, r) {
			w.log.Warn("whip request refused: origin not allowed (list it in signaling.allowed_origins)", "origin", origin)
			httpError(rw, http.StatusForbidden, "origin not allowed")
			return
		}
		h := rw.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch, Accept-Post")
	}
	w.mux.ServeHTTP(rw, r)
}

// options answers a CORS preflight (and a plain OPTIONS) with the methods and headers
// the resource takes.
func (w *WHIP) options(rw http.ResponseWriter, r *http.Request) {
	h := rw.Header()
	if r.PathValue("room") != "" {
		h.Set("Allow", "POST, OPTIONS")
		h.Set("Accept-Post", mimeSDP)
	} else {
		h.Set("Allow", "PATCH, DELETE, OPTIONS")
		h.Set("Accept-Patch", mimeSDPFrag)
	}
	h.Set("Access-Control-Allow-Methods", h.Get("Allow"))
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Max-Age", "600")
	rw.WriteHeader(http.StatusNoContent)
}

// Refusals counts the POSTs refused with 429 by whip.offers_per_minute and by
// whip.max_sessions_per_ip (D315).
func (w *WHIP) Refusals() (offers, perIP uint64) {
	return w.refusedOffers.Load(), w.refusedIP.Load()
}

// Sessions is the number of open WHIP sessions.
func (w *WHIP) Sessions() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.sessions)
}

// Close ends every session (their users leave their rooms) and waits for the ends in
// flight. Idempotent.
func (w *WHIP) Close() error {
	w.mu.Lock()
	w.closed = true
	all := make([]*whipSession, 0, len(w.sessions))
	for _, ws := range w.sessions {
		all = append(all, ws)
	}
	w.mu.Unlock()
	for _, ws := range all {
		w.end(ws, "server closing")
	}
	w.wg.Wait()
	return nil
}

// async runs fn on a goroutine Close waits for, unless Close began.
func (w *WHIP) async(fn func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		fn()
	}()
}

// publish is POST /whip/{room}: the offer of a new session.
func (w *WHIP) publish(rw http.ResponseWriter, r *http.Request) {
	wire, err := parseRoomPath(r.PathValue("room"))
	if err != nil {
		httpError(rw, http.StatusNotFound, "no such WHIP endpoint: "+err.Error())
		return
	}
	holder, offer, ufrag, ok := w.readOffer(rw, r, wire, true)
	if !ok || w.routed(rw, r, holder.roomID()) || !w.takeOffer(rw, r) {
		return
	}
	ws, answer, status, err := w.start(r.Context(), ClientKeyOf(r.RemoteAddr), holder, offer, ufrag)
	if err != nil {
		httpError(rw, status, err.Error())
		return
	}
	w.created(rw, ws, answer)
}

// readOffer checks a POST's content type, grant (the publish right for WHIP, subscribe
// for WHEP) and SDP offer in that order, answering the first failure; it returns the
// grant's holder, the offer and its ICE ufrag.
func (w *WHIP) readOffer(rw http.ResponseWriter, r *http.Request, wire protocol.RoomID, publish bool) (grantHolder, string, string, bool) {
	if !hasMediaType(r, mimeSDP) {
		httpError(rw, http.StatusUnsupportedMediaType, "the body must be "+mimeSDP)
		return grantHolder{}, "", "", false
	}
	holder, status, err := w.authorize(r, wire, publish)
	if err != nil {
		httpErr(rw, status, err)
		return grantHolder{}, "", "", false
	}
	body, err := readBody(rw, r, w.cfg.MaxBodyBytes)
	if err != nil {
		httpError(rw, http.StatusRequestEntityTooLarge, err.Error())
		return grantHolder{}, "", "", false
	}
	ufrag, err := checkOffer(body)
	if err != nil {
		httpError(rw, http.StatusBadRequest, err.Error())
		return grantHolder{}, "", "", false
	}
	return holder, string(body), ufrag, true
}

// created writes the 201 answer of a new session: the SDP answer, its resource, its ETag
// and the ICE servers (TURN with fresh REST credentials) as Link headers.
func (w *WHIP) created(rw http.ResponseWriter, ws *whipSession, answer string) {
	h := rw.Header()
	h.Set("Content-Type", mimeSDP)
	h.Set("Location", w.sessionURL(ws))
	h.Set("ETag", quoteETag(ws.currentETag()))
	h.Set("Accept-Patch", mimeSDPFrag)
	for _, link := range iceServerLinks(w.svc.iceServers, TURNUser(ws.user.app, ws.user.userID), w.svc.now()) {
		h.Add("Link", link)
	}
	rw.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(rw, answer)
}

// authorize checks the bearer room grant: 401 without a valid one, 403 when it is for
// another room or lacks the right needed (publish for WHIP, subscribe for WHEP), 503
// while the server drains. A request without a valid grant takes a token of its client
// IP's failed-login bucket (limits.failed_logins_per_minute, as a WebSocket login whose
// userSig fails); an IP whose bucket is empty gets 429 until a token refills.
func (w *WHIP) authorize(r *http.Request, wire protocol.RoomID, publish bool) (grantHolder, int, error) {
	key, now := ClientKeyOf(r.RemoteAddr), w.svc.now()
	if wait, ok := w.svc.limits.checkFailedLogins(key, now); !ok {
		return grantHolder{}, http.StatusTooManyRequests, &retryAfterError{wait,
			errors.New("too many requests without a valid room grant from this address (limits.failed_logins_per_minute)")}
	}
	h, status, err := w.checkGrant(r, wire, publish, now)
	if status == http.StatusUnauthorized {
		w.svc.limits.failedLogins.Get(key, now, true).AllowN(now, 1)
	}
	return h, status, err
}

// checkGrant is authorize without the rate limit.
func (w *WHIP) checkGrant(r *http.Request, wire protocol.RoomID, publish bool, now time.Time) (grantHolder, int, error) {
	grant, err := bearerGrant(r)
	if err == nil {
		var h grantHolder
		if h, err = w.svc.verifier.verifyGrantAlone(grant, now); err == nil {
			want, _ := roomIDFromWire(wire)
			got, _ := roomIDFromWire(h.room)
			switch {
			case got != want:
				return grantHolder{}, http.StatusForbidden, fmt.Errorf("the room grant is for room %s, not %s", h.room, wire)
			case publish && !h.rights.Publish:
				return grantHolder{}, http.StatusForbidden, errors.New("the room grant has no publish right")
			case !publish && !h.rights.Subscribe:
				return grantHolder{}, http.StatusForbidden, errors.New("the room grant has no subscribe right")
			case w.svc.Draining():
				return grantHolder{}, http.StatusServiceUnavailable, errors.New("the server is shutting down")
			}
			return h, 0, nil
		}
	}
	return grantHolder{}, http.StatusUnauthorized, fmt.Errorf("unauthorized: %v", err)
}

// start makes the session of an offer: its user joins the room with the publish right
// only, the offer is applied and the answer (with the server's candidates) returned.
func (w *WHIP) start(ctx context.Context, client string, h grantHolder, offer, ufrag string) (*whipSession, string, int, error) {
	ws := w.newSession("whip", client, h, offer, ufrag)
	if status, err := w.admit(ws); err != nil {
		return nil, "", status, err
	}
	// The room may still hold the user's WebSocket session that a login just ended (D317).
	if err := w.svc.awaitExits(ctx, h.app, h.userID); err != nil {
		w.end(ws, "gave up waiting")
		return nil, "", http.StatusServiceUnavailable, err
	}
	ws.presence = w.svc.ingestSession(h.app, h.userID)
	p, err := w.svc.rooms.JoinWith(ws.room, h.userID, room.JoinOptions{Rights: room.Rights{Publish: true}, MaxAppRooms: w.svc.maxRooms(h.app)}, ingestSignaller{ws})
	if err != nil {
		w.end(ws, "join failed")
		switch {
		case errors.Is(err, room.ErrAlreadyInRoom):
			return nil, "", http.StatusConflict, fmt.Errorf("%q is in room %s already", h.userID, h.room)
		case errors.Is(err, room.ErrRoomQuota), errors.Is(err, room.ErrRoomFull):
			return nil, "", http.StatusTooManyRequests, roomJoinError(err) // D327, D328
		}
		return nil, "", http.StatusServiceUnavailable, fmt.Errorf("join room %s: %v", h.room, err)
	}
	m := publisherMedia{p}
	if !ws.setMedia(m) {
		return nil, "", http.StatusServiceUnavailable, errors.New("the server is shutting down")
	}
	w.svc.addIngest(ws.room, h.userID, ws.presence)
	answer, status, err := ws.negotiate(ctx, m, offer)
	if err != nil {
		w.end(ws, "offer refused")
		return nil, "", status, err
	}
	ws.armConnectTimer()
	w.log.Info("whip session started", "session", ws.id, "user", h.userID, "room", ws.room.String())
	return ws, answer, 0, nil
}

// takeOffer takes a token of the client IP's whip.offers_per_minute bucket, or answers
// 429 with Retry-After and returns false (D315). It comes after the grant was checked
// (an invalid one takes a failed-login token instead) and before any PeerConnection work.
func (w *WHIP) takeOffer(rw http.ResponseWriter, r *http.Request) bool {
	if w.offers == nil {
		return true
	}
	now := w.svc.now()
	res := w.offers.Get(ClientKeyOf(r.RemoteAddr), now, true).ReserveN(now, 1)
	if wait := res.DelayFrom(now); wait > 0 || !res.OK() {
		res.CancelAt(now)
		w.refusedOffers.Add(1)
		httpErr(rw, http.StatusTooManyRequests, &retryAfterError{wait, fmt.Errorf(
			"too many offers from this address (whip.offers_per_minute %d, whip.offers_burst %d)", w.cfg.OffersPerMinute, w.cfg.OffersBurst)})
		return false
	}
	return true
}

// admit reserves ws's place within whip.max_sessions, whip.max_sessions_per_user and
// whip.max_sessions_per_ip.
func (w *WHIP) admit(ws *whipSession) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return http.StatusServiceUnavailable, errors.New("the server is shutting down")
	case len(w.sessions) >= w.cfg.MaxSessions:
		return http.StatusServiceUnavailable, fmt.Errorf("the server has whip.max_sessions (%d) sessions", w.cfg.MaxSessions)
	case w.perUser[ws.user] >= w.cfg.MaxSessionsPerUser:
		return http.StatusTooManyRequests, fmt.Errorf("%q has whip.max_sessions_per_user (%d) sessions", ws.user.userID, w.cfg.MaxSessionsPerUser)
	case w.cfg.MaxSessionsPerIP > 0 && w.perIP[ws.client] >= w.cfg.MaxSessionsPerIP:
		w.refusedIP.Add(1)
		return http.StatusTooManyRequests, fmt.Errorf("this address has whip.max_sessions_per_ip (%d) sessions", w.cfg.MaxSessionsPerIP)
	}
	w.sessions[ws.id] = ws
	w.perUser[ws.user]++
	w.perIP[ws.client]++
	return 0, nil
}

// end ends ws once: it leaves the table, its user leaves the room.
func (w *WHIP) end(ws *whipSession, reason string) {
	m, ok := ws.markEnded()
	if !ok {
		return
	}
	w.mu.Lock()
	delete(w.sessions, ws.id)
	if w.perUser[ws.user]--; w.perUser[ws.user] <= 0 {
		delete(w.perUser, ws.user)
	}
	if w.perIP[ws.client]--; w.perIP[ws.client] <= 0 {
		delete(w.perIP, ws.client)
	}
	w.mu.Unlock()
	if ws.presence != nil {
		w.svc.removeIngest(ws.room, ws.user.userID, ws.presence)
	}
	if m != nil {
		if err := m.close(); err != nil {
			w.log.Debug("close session media", "session", ws.id, "error", err)
		}
		w.log.Info(ws.kind+" session ended", "session", ws.id, "user", ws.user.userID, "room", ws.room.String(), "reason", reason)
	}
}

// lookup is the session named by the request's {id}, or nil after a 404.
func (w *WHIP) lookup(rw http.ResponseWriter, r *http.Request) *whipSession {
	w.mu.Lock()
	ws := w.sessions[r.PathValue("id")]
	w.mu.Unlock()
	if ws == nil || !strings.HasPrefix(r.URL.Path, "/"+ws.kind+"/") {
		httpError(rw, http.StatusNotFound, "no such session")
		return nil
	}
	return ws
}

// delete is DELETE /whip/sessions/{id}.
func (w *WHIP) delete(rw http.ResponseWriter, r *http.Request) {
	if ws := w.lookup(rw, r); ws != nil {
		w.end(ws, "deleted by the client")
		rw.WriteHeader(http.StatusOK)
	}
}

// patch is PATCH /whip/sessions/{id}: trickled candidates (204), or an ICE restart when
// the fragment carries new ICE credentials (200 with the server's fragment and a new
// ETag). If-Match, when sent, must be "*" or the current ETag (else 412).
func (w *WHIP) patch(rw http.ResponseWriter, r *http.Request) {
	ws := w.lookup(rw, r)
	if ws == nil {
		return
	}
	if err := ws.checkPatchRate(); err != nil {
		httpErr(rw, http.StatusTooManyRequests, err)
		return
	}
	if !hasMediaType(r, mimeSDPFrag) {
		httpError(rw, http.StatusUnsupportedMediaType, "the body must be "+mimeSDPFrag)
		return
	}
	body, err := readBody(rw, r, w.cfg.MaxBodyBytes)
	if err != nil {
		httpError(rw, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	frag, err := parseSDPFrag(body)
	if err != nil {
		httpError(rw, http.StatusBadRequest, err.Error())
		return
	}
	answer, etag, status, err := ws.patch(r.Context(), frag, r.Header.Get("If-Match"))
	if err != nil {
		httpError(rw, status, err.Error())
		return
	}
	if answer == "" {
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	rw.Header().Set("Content-Type", mimeSDPFrag)
	rw.Header().Set("ETag", quoteETag(etag))
	rw.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(rw, answer)
}

// hasMediaType reports whether the request's Content-Type is want (parameters aside).
func hasMediaType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && strings.EqualFold(mt, want)
}

// readBody reads the request body, at most limit bytes.
func readBody(rw http.ResponseWriter, r *http.Request, limit int) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("body over %d bytes (whip.max_body_bytes) or unreadable: %v", limit, err)
	}
	return body, nil
}

// httpError writes a plain-text error answer.
func httpError(rw http.ResponseWriter, status int, msg string) {
	if status == http.StatusUnauthorized {
		rw.Header().Set("WWW-Authenticate", `Bearer realm="parley", error="invalid_token"`)
	}
	http.Error(rw, msg, status)
}

// retryAfterError is a 429's error with the wait its Retry-After header says.
type retryAfterError struct {
	wait time.Duration
	err  error
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// httpErr writes err as httpError does, with Retry-After (whole seconds, at least 1)
// when err says how long to wait.
func httpErr(rw http.ResponseWriter, status int, err error) {
	var ra *retryAfterError
	if errors.As(err, &ra) {
		rw.Header().Set("Retry-After", strconv.Itoa(int(max(1, (ra.wait+time.Second-1)/time.Second))))
	}
	httpError(rw, status, err.Error())
}

// quoteETag is an ETag header value (a strong validator).
func quoteETag(tag string) string { return `"` + tag + `"` }

// iceServerLinks are the Link headers (RFC 9725 §4.6) of the ICE servers (TURN with
// REST credentials) a user gets, as the login result lists them.
func iceServerLinks(servers func(string, time.Time) []protocol.ICEServer, turnUser string, now time.Time) []string {
	if servers == nil {
		return nil
	}
	quote := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	var links []string
	for _, s := range servers(turnUser, now) {
		for _, u := range s.URLs {
			link := "<" + u + `>; rel="ice-server"`
			if s.Username != "" {
				link += `; username="` + quote.Replace(s.Username) + `"; credential="` + quote.Replace(s.Credential) + `"; credential-type="password"`
			}
			links = append(links, link)
		}
	}
	return links
}

// ingestSignaller is the room.Signaller of a WHIP publisher: its candidates travel in
// the answer, it has no subscriber PeerConnection to offer to; it watches the publisher
// PeerConnection's state (room.PublisherStateObserver).
type ingestSignaller struct{ ws *whipSession }

func (ingestSignaller) SendSubscriberOffer(webrtc.SessionDescription)      {}
func (ingestSignaller) SendCandidate(room.Target, webrtc.ICECandidateInit) {}
func (s ingestSignaller) PublisherState(state webrtc.PeerConnectionState) {
	s.ws.stateChanged(state)
}
