package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// presenceAPI serves GET /api/v1/presence?sdkAppId=&userId= (admin.api_key as bearer
// token, as GET /api/v1/calls): where a user is connected (D100). In a cluster every node
// answers the same, from Redis; on a single node it lists the user's connected sessions.
type presenceAPI struct {
	auth *callsAPI // its admin key check
	read func(ctx context.Context, app int, userID string) ([]cluster.Presence, error)
	log  *slog.Logger
}

// PresenceResponse is the body of a successful GET /api/v1/presence.
type PresenceResponse struct {
	SDKAppID    int                  `json:"sdkAppId"`
	UserID      string               `json:"userId"`
	Connections []PresenceConnection `json:"connections"`
}

// PresenceConnection is one logged-in WebSocket of the user.
type PresenceConnection struct {
	Conn  string `json:"conn"`            // the connection's id
	Node  string `json:"node,omitempty"`  // the node that holds the WebSocket (cluster only)
	Owner string `json:"owner,omitempty"` // the node that runs its session, the app's owner (cluster only)
	Since int64  `json:"since,omitempty"` // its login, unix seconds (cluster only)
}

func (a *presenceAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.auth.admit(w, r) {
		return
	}
	app, user, err := parsePresenceQuery(r.URL.RawQuery)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	ps, err := a.read(r.Context(), app, user)
	switch {
	case errors.Is(err, cluster.ErrUnavailable):
		writeJSONError(w, http.StatusServiceUnavailable, "the cluster's Redis is unreachable")
		return
	case err != nil:
		a.log.Error("admin presence query", "error", err)
		writeJSONError(w, http.StatusInternalServerError, "query failed")
		return
	}
	out := PresenceResponse{SDKAppID: app, UserID: user, Connections: make([]PresenceConnection, len(ps))}
	for i, p := range ps {
		out.Connections[i] = PresenceConnection{Conn: p.Conn, Node: p.Node, Owner: p.Owner}
		if !p.Since.IsZero() {
			out.Connections[i].Since = p.Since.Unix()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// parsePresenceQuery reads sdkAppId (a positive integer) and userId (a valid userId,
// D1), both required; any other parameter, a repeated one or a query string that does not
// parse is an error (a fuzz target: presenceapi_test.go).
func parsePresenceQuery(raw string) (app int, userID string, err error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return 0, "", fmt.Errorf("query string: %v (separate parameters with &, percent-encode other characters)", err)
	}
	for key, vs := range q {
		switch {
		case key != "sdkAppId" && key != "userId":
			return 0, "", fmt.Errorf("unknown parameter %q", key)
		case len(vs) != 1:
			return 0, "", fmt.Errorf("%s: given %d times", key, len(vs))
		}
	}
	s := q.Get("sdkAppId")
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > math.MaxInt32 {
		return 0, "", fmt.Errorf("sdkAppId: %q is not a positive integer", s)
	}
	userID = q.Get("userId")
	if !protocol.ValidUserID(userID) {
		return 0, "", fmt.Errorf("userId: want 1..%d characters of A-Z a-z 0-9 _ -", protocol.MaxUserIDLength)
	}
	return n, userID, nil
}
