package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parley-rtc/parley/ops/recording"
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// recordingsAPI is the admin API of room recording (admin.api_key as bearer token, as
// GET /api/v1/calls):
//
//	POST /api/v1/recordings               {"sdkAppId": 1400000001, "roomId": 123}  → 201 Info
//	GET  /api/v1/recordings                                                      → {"recordings": [Info]}
//	POST /api/v1/recordings/{id}/stop                                            → 200 Info (the manifest)
//	GET  /api/v1/recordings/{id}/files/{name}                                    → the file
//
// In a cluster a start is answered where the room's media are (D122): a node that does
// not hold the room answers 307 to the node that does (the owner, or the room's media
// node with cluster.room_placement load), as WHIP (D119). A recording's id ends in "@"
// and its node's id (D125): stop and files of another node's recording answer 307 to
// that node; the list of any node has every live node's recordings (asked over the
// cluster, D125) and names the nodes that did not answer in "unreachable".
type recordingsAPI struct {
	auth   *callsAPI // its admin key check
	rec    *recording.Recorder
	router recordingsRouter
	log    *slog.Logger
	mux    *http.ServeMux
}

// recordingsRouter is what the API needs of the cluster (signaling.Service): where a
// start (RouteHTTP) and a recording of a node (RouteNode) are served — "" here, else the
// URL to redirect to, or an error with its HTTP status — and the other nodes' lists.
type recordingsRouter interface {
	RouteHTTP(ctx context.Context, id room.ID, r *http.Request) (string, int, error)
	RouteNode(node string, r *http.Request) (string, int, error)
	ClusterRecordings(ctx context.Context) (map[string]json.RawMessage, []string)
}

// listTimeout bounds the wait for the other nodes' lists.
const listTimeout = 5 * time.Second

func newRecordingsAPI(auth *callsAPI, rec *recording.Recorder, router recordingsRouter, logger *slog.Logger) *recordingsAPI {
	a := &recordingsAPI{auth: auth, rec: rec, router: router, log: logger, mux: http.NewServeMux()}
	a.mux.HandleFunc("POST /api/v1/recordings", a.start)
	a.mux.HandleFunc("GET /api/v1/recordings", a.list)
	a.mux.HandleFunc("POST /api/v1/recordings/{id}/stop", a.stop)
	a.mux.HandleFunc("GET /api/v1/recordings/{id}/files/{name}", a.file)
	return a
}

func (a *recordingsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.auth.admit(w, r) {
		return
	}
	a.mux.ServeHTTP(w, r)
}

// startRequest names the room to record: its app and its RoomId (a number is an integer
// room, a string a string room).
type startRequest struct {
	SDKAppID int             `json:"sdkAppId"`
	RoomID   protocol.RoomID `json:"roomId"`
}

// maxStartBody bounds the body of POST /api/v1/recordings.
const maxStartBody = 4096

// parseStartRequest reads the room a start request names (a fuzz target:
// recordingsapi_test.go).
func parseStartRequest(body io.Reader) (room.ID, error) {
	var req startRequest
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		return room.ID{}, fmt.Errorf("body: %v", err)
	}
	id, err := room.ParseID(req.RoomID.Int, req.RoomID.Str)
	if err != nil || req.SDKAppID <= 0 {
		return room.ID{}, errors.New("sdkAppId and a valid roomId are needed")
	}
	return id.InApp(req.SDKAppID), nil
}

func (a *recordingsAPI) start(w http.ResponseWriter, r *http.Request) {
	id, err := parseStartRequest(http.MaxBytesReader(w, r.Body, maxStartBody))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	if redirected(w, "the room is served by ")(a.router.RouteHTTP(r.Context(), id, r)) { // D122
		return
	}
	info, err := a.rec.Start(id)
	switch {
	case errors.Is(err, recording.ErrDisabled):
		writeJSONError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, recording.ErrAlreadyRecording):
		writeJSONError(w, http.StatusConflict, err.Error())
	case errors.Is(err, recording.ErrTooMany), errors.Is(err, recording.ErrClosed):
		writeJSONError(w, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		a.log.Error("start recording", "error", err)
		writeJSONError(w, http.StatusInternalServerError, "recording could not start")
	default:
		writeJSON(w, http.StatusCreated, info)
	}
}

// redirected answers a request served elsewhere (to, or an error with its status) and
// reports whether it did; what says what is served at to.
func redirected(w http.ResponseWriter, what string) func(to string, status int, err error) bool {
	return func(to string, status int, err error) bool {
		switch {
		case err != nil:
			writeJSONError(w, status, err.Error())
		case to != "":
			w.Header().Set("Location", to)
			writeJSONError(w, http.StatusTemporaryRedirect, what+to)
		default:
			return false
		}
		return true
	}
}

// recordingList is the answer of GET /api/v1/recordings.
type recordingList struct {
	Recordings []recording.Info `json:"recordings"`
	// Unreachable names the live nodes of a cluster that did not send their list in time.
	Unreachable []string `json:"unreachable,omitempty"`
}

func (a *recordingsAPI) list(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), listTimeout)
	defer cancel()
	others, missing := a.router.ClusterRecordings(ctx)
	out := recordingList{Recordings: a.rec.List(), Unreachable: missing}
	for node, body := range others {
		var infos []recording.Info
		if err := json.Unmarshal(body, &infos); err != nil {
			a.log.Warn("recordings of a node not decodable", "node", node, "error", err)
			out.Unreachable = append(out.Unreachable, node)
			continue
		}
		out.Recordings = append(out.Recordings, infos...)
	}
	slices.Sort(out.Unreachable)
	slices.SortStableFunc(out.Recordings, func(a, b recording.Info) int { return cmp.Compare(a.StartedAt, b.StartedAt) })
	writeJSON(w, http.StatusOK, out)
}

// elsewhere answers a request about a recording of another node with 307 to it (D125)
// and reports whether it did.
func (a *recordingsAPI) elsewhere(w http.ResponseWriter, r *http.Request) bool {
	_, node, _ := strings.Cut(r.PathValue("id"), "@")
	return redirected(w, "the recording is on ")(a.router.RouteNode(node, r))
}

func (a *recordingsAPI) stop(w http.ResponseWriter, r *http.Request) {
	if a.elsewhere(w, r) {
		return
	}
	info, err := a.rec.Stop(r.PathValue("id"))
	switch {
	case errors.Is(err, recording.ErrUnknown):
		writeJSONError(w, http.StatusNotFound, err.Error())
	case err != nil:
		a.log.Error("stop recording", "error", err)
		writeJSONError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, info)
	}
}

func (a *recordingsAPI) file(w http.ResponseWriter, r *http.Request) {
	if a.elsewhere(w, r) {
		return
	}
	path, err := a.rec.File(r.PathValue("id"), r.PathValue("name"))
	if err != nil {
		writeJSONError(w, http.StatusNotFound, err.Error())
		return
	}
	http.ServeFile(w, r, path)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// recorderEvents hands room events and call hooks to the recorder once it exists (it
// needs the room manager, which the signaling Service builds after taking its listeners).
type recorderEvents struct {
	room.NopListener
	rec   atomic.Pointer[recording.Recorder]
	calls bool // recording.calls
}

func (e *recorderEvents) TrackPublished(id room.ID, userID string, kind room.TrackKind) {
	if r := e.rec.Load(); r != nil {
		r.TrackPublished(id, userID, kind)
	}
}

// CallBegan and CallEnded record every call with recording.calls (signaling.Hooks).
func (e *recorderEvents) CallBegan(c call.CallSummary) {
	if r := e.rec.Load(); r != nil && e.calls {
		r.CallBegan(c)
	}
}

func (e *recorderEvents) CallEnded(c call.CallSummary) {
	if r := e.rec.Load(); r != nil && e.calls {
		r.CallEnded(c)
	}
}

func (e *recorderEvents) InviteeOffline(int, string, string, protocol.CallReceivedEvent) {}

// RoomPlaced makes a recording of this node follow its room placed elsewhere (D122,
// signaling.Deps.RoomPlaced).
func (e *recorderEvents) RoomPlaced(id room.ID, node string) {
	if r := e.rec.Load(); r != nil {
		r.RoomPlaced(id, node)
	}
}

// RecordCall records a call's room placed here by the app's owner (D124,
// signaling.ClusterRecorder).
func (e *recorderEvents) RecordCall(owner, callID string, id room.ID, on bool) {
	if r := e.rec.Load(); r != nil {
		r.RecordCall(owner, callID, id, on)
	}
}

// Recordings is this node's list for another node's (D125, signaling.ClusterRecorder).
func (e *recorderEvents) Recordings() json.RawMessage {
	list := []recording.Info{}
	if r := e.rec.Load(); r != nil {
		list = r.List()
	}
	body, _ := json.Marshal(list)
	return body
}

func (e *recorderEvents) RoomClosed(id room.ID) {
	if r := e.rec.Load(); r != nil {
		r.RoomClosed(id)
	}
}
