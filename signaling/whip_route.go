package signaling

// Where a WHIP publisher or WHEP viewer of a cluster is served (D119): in the room that
// the call machine's node (the app's owner, D50) and per-room placement (D95) use, never
// in a second room of the same RoomId on the node the HTTP request reached.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/parley-rtc/parley/room"
)

// errNoHTTPBase marks a node whose advertised signaling URL gives no HTTP address.
var errNoHTTPBase = errors.New("the node advertises no ws:// or wss:// signaling URL")

// errUnreachableNode marks a node that advertises the unspecified address of its listener
// (http.address 0.0.0.0 or [::] without cluster.advertise_url): no client can follow a
// redirect there (D137).
var errUnreachableNode = errors.New("the node advertises an address no client can reach (set its cluster.advertise_url)")

// RouteHTTP decides where an HTTP request about room id is served — a WHIP or WHEP
// offer, or the admin API's start of a recording (D122, cmd/parley): "" here, else the
// absolute URL (r's path and query) on the node that holds (or will hold) the room, to
// answer with 307; an error comes with the HTTP status to answer.
// Here: a single node; the app's owner when the room is not placed on another node (a
// room opened by WHIP on the owner stays there, and placement keeps later members in
// it); a node that hosts the room for the owner (D95). Any other node redirects to the
// owner, which redirects on to the room's media node when the room is placed.
func (s *Service) RouteHTTP(ctx context.Context, id room.ID, r *http.Request) (string, int, error) {
	cl := s.relays.cl
	if cl == nil {
		return "", 0, nil
	}
	owner, err := cl.Owner(ctx, id.App())
	if err != nil {
		return "", http.StatusServiceUnavailable, fmt.Errorf("cluster: %w", err)
	}
	pl := &s.placement
	if owner.ID == cl.ID() {
		pl.settleRoom(id) // a call's room waiting for media is placed now (D187)
	}
	target := owner.SignalingURL
	pl.mu.Lock()
	if owner.ID == cl.ID() {
		target = ""
		if pr := pl.rooms[id]; pr != nil && pr.node != "" {
			n, ok := cl.Node(pr.node)
			if !ok {
				pl.mu.Unlock()
				return "", http.StatusServiceUnavailable, fmt.Errorf("cluster: media node %s of room %s is gone", pr.node, id)
			}
			target = n.SignalingURL
		}
	} else if hr := pl.hrooms[id]; hr != nil && hr.owner == owner.ID {
		target = ""
	}
	pl.mu.Unlock()
	if target == "" {
		return "", 0, nil
	}
	base, err := httpBase(target)
	if err != nil {
		return "", http.StatusServiceUnavailable, fmt.Errorf("cluster: %w", err)
	}
	return base + r.URL.RequestURI(), 0, nil
}

// RoomNode is the media node that room id is placed on by this owner (D95), "" when
// the room is here or not placed (recording.calls, D122).
func (s *Service) RoomNode(id room.ID) string {
	pl := &s.placement
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pr := pl.rooms[id]; pr != nil {
		return pr.node
	}
	return ""
}

// httpBase is the scheme and host of a node's HTTP endpoints, from its advertised
// signaling URL (ws://host:port/ws → http://host:port; the WHIP and WHEP endpoints are
// served next to /ws); an error when the URL is not ws:// or wss:// or its host is
// unspecified.
func httpBase(signalingURL string) (string, error) {
	u, err := url.Parse(signalingURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w: %q", errNoHTTPBase, signalingURL)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("%w: %q", errNoHTTPBase, signalingURL)
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && ip.IsUnspecified() {
		return "", fmt.Errorf("%w: %q", errUnreachableNode, signalingURL)
	}
	return u.Scheme + "://" + u.Host + strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/ws"), nil
}

// routed answers a WHIP or WHEP offer that another node serves with 307 to it (RFC 9725
// §4.5 allows redirects of the POST) and reports whether it did so or failed.
func (w *WHIP) routed(rw http.ResponseWriter, r *http.Request, id room.ID) bool {
	to, status, err := w.svc.RouteHTTP(r.Context(), id, r)
	switch {
	case err != nil:
		httpError(rw, status, err.Error())
		return true
	case to == "":
		return false
	}
	w.log.Debug("offer redirected to the room's node", "room", id.String(), "to", to)
	rw.Header().Set("Location", to)
	rw.WriteHeader(http.StatusTemporaryRedirect)
	return true
}

// sessionURL is the Location of a new session: the path alone on a single node, the
// absolute URL on this node in a cluster (the POST may have reached it by redirect).
func (w *WHIP) sessionURL(ws *whipSession) string {
	path := "/" + ws.kind + "/sessions/" + ws.id
	if cl := w.svc.relays.cl; cl != nil {
		if n, ok := cl.Node(cl.ID()); ok {
			if base, err := httpBase(n.SignalingURL); err == nil {
				return base + path
			}
		}
	}
	return path
}
