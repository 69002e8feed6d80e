package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/parley-rtc/parley/ops/records"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// callLister is what the calls API reads (records.Store).
type callLister interface {
	List(ctx context.Context, f records.Filter) ([]protocol.CallRecord, error)
}

// callsAPI serves GET /api/v1/calls?sdkAppId=&userId=&begin=&end=&result=&limit= to operators who
// present admin.api_key as a bearer token. With no key configured every request is
// refused.
type callsAPI struct {
	keyHash [sha256.Size]byte
	enabled bool
	store   callLister
	log     *slog.Logger
}

// CallsResponse is the body of a successful GET /api/v1/calls.
type CallsResponse struct {
	Calls []protocol.CallRecord `json:"calls"`
}

func newCallsAPI(apiKey string, store callLister, logger *slog.Logger) *callsAPI {
	return &callsAPI{keyHash: sha256.Sum256([]byte(apiKey)), enabled: apiKey != "", store: store, log: logger}
}

// authorized compares the bearer token with the key in constant time (hashes of equal
// length, so neither the key's length nor a matching prefix shows in the timing). The
// scheme is read as WHIP reads it: "bearer" in any case (RFC 7235).
func (a *callsAPI) authorized(r *http.Request) bool {
	token, ok := signaling.BearerToken(r)
	got := sha256.Sum256([]byte(token))
	match := subtle.ConstantTimeCompare(got[:], a.keyHash[:]) == 1
	return a.enabled && ok && match
}

// admit reports whether r carries the admin key; if not it answers 401 (every admin API).
func (a *callsAPI) admit(w http.ResponseWriter, r *http.Request) bool {
	if a.authorized(r) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="parley-admin"`)
	writeJSONError(w, http.StatusUnauthorized, "missing or wrong admin key")
	return false
}

func (a *callsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.admit(w, r) {
		return
	}
	f, err := parseCallsFilter(r)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	calls, err := a.store.List(r.Context(), f)
	if err != nil {
		a.log.Error("admin calls query", "error", err)
		writeJSONError(w, http.StatusInternalServerError, "query failed")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(CallsResponse{Calls: calls})
}

// parseCallsFilter reads sdkAppId (empty = every app), userId (empty = every user; else a valid
// userId), begin and end (unix seconds),
// result (0 any, 1 missed, 2 incoming, 3 outgoing) and limit (1..1000, default 1000), each at
// most once.
// A query string that does not parse is an error: r.URL.Query() would drop the pairs it
// cannot read (";" separators, bad escapes) and so widen the filter to every user.
func parseCallsFilter(r *http.Request) (records.Filter, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return records.Filter{}, fmt.Errorf("query string: %v (separate parameters with &, percent-encode other characters)", err)
	}
	for key, vs := range q {
		switch key {
		case "sdkAppId", "userId", "begin", "end", "result", "limit":
		default:
			return records.Filter{}, fmt.Errorf("unknown parameter %q", key)
		}
		if len(vs) != 1 {
			// Which one would count is a guess the caller should not have to make.
			return records.Filter{}, fmt.Errorf("%s: given %d times", key, len(vs))
		}
	}
	f := records.Filter{UserID: q.Get("userId")}
	if f.UserID != "" && !protocol.ValidUserID(f.UserID) {
		// No call has such a member: say so rather than answer an empty list.
		return f, fmt.Errorf("userId: want 1..%d characters of A-Z a-z 0-9 _ -", protocol.MaxUserIDLength)
	}
	if s := q.Get("sdkAppId"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > math.MaxInt32 {
			return f, fmt.Errorf("sdkAppId: %q is not a positive integer", s)
		}
		f.SDKAppID = n
	}
	if f.Begin, err = floatParam(q.Get("begin"), "begin"); err != nil {
		return f, err
	}
	if f.End, err = floatParam(q.Get("end"), "end"); err != nil {
		return f, err
	}
	if f.End > 0 && f.Begin > f.End {
		return f, fmt.Errorf("begin %v is after end %v", f.Begin, f.End)
	}
	if s := q.Get("result"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < int(protocol.CallResultUnknown) || n > int(protocol.CallResultOutgoing) {
			return f, fmt.Errorf("result: %q is not 0..3", s)
		}
		f.Result = protocol.CallResult(n)
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > records.MaxListLimit {
			return f, fmt.Errorf("limit: %q is not 1..%d", s, records.MaxListLimit)
		}
		f.Limit = n
	}
	return f, nil
}

func floatParam(s, name string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1e11 || v != v {
		return 0, fmt.Errorf("%s: %q is not unix seconds", name, s)
	}
	return v, nil
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
