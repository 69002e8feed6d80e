package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// maxDevUserSigRequestBytes bounds the request body of POST /dev/usersig.
const maxDevUserSigRequestBytes = 1024

// ErrBadUserSigRequest wraps every rejection of a /dev/usersig request body.
var ErrBadUserSigRequest = errors.New("bad userSig request")

// devUserSigRequest is the body of POST /dev/usersig.
type devUserSigRequest struct {
	UserID string `json:"userId"`
}

// devUserSigResponse is its answer: what the SDK's login needs.
type devUserSigResponse struct {
	SDKAppID  int    `json:"sdkAppId"`
	UserID    string `json:"userId"`
	UserSig   string `json:"userSig"`
	ExpiresAt int64  `json:"expiresAt"`
}

// parseDevUserSigRequest reads and checks a request body (untrusted input).
func parseDevUserSigRequest(body []byte) (devUserSigRequest, error) {
	if len(body) > maxDevUserSigRequestBytes {
		return devUserSigRequest{}, fmt.Errorf("body larger than %d bytes: %w", maxDevUserSigRequestBytes, ErrBadUserSigRequest)
	}
	var req devUserSigRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return devUserSigRequest{}, fmt.Errorf("body is not {\"userId\": string}: %w", ErrBadUserSigRequest)
	}
	if !protocol.ValidUserID(req.UserID) {
		return devUserSigRequest{}, fmt.Errorf("userId must be 1..64 of [A-Za-z0-9_-]: %w", ErrBadUserSigRequest)
	}
	return req, nil
}

// newDevUserSigHandler answers POST /dev/usersig {userId} with a userSig for that user.
func newDevUserSigHandler(opts Options, logger *slog.Logger) http.Handler {
	return devTokenHandler(opts, logger, "userSig", maxDevUserSigRequestBytes, parseDevUserSigRequest,
		func(req devUserSigRequest, t time.Time, ttl time.Duration) (any, error) {
			sig, err := opts.MintUserSig(opts.DevSDKAppID, req.UserID, ttl, t)
			if err != nil {
				return nil, err
			}
			return devUserSigResponse{SDKAppID: opts.DevSDKAppID, UserID: req.UserID, UserSig: sig, ExpiresAt: t.Add(ttl).Unix()}, nil
		})
}

// devTokenHandler is the skeleton of the dev endpoints: read at most limit bytes of body,
// parse it (400 with the parser's message), mint at now for the development TTL (500,
// logged), answer the minted value as JSON. what names the token in messages.
func devTokenHandler[Req any](opts Options, logger *slog.Logger, what string, limit int64,
	parse func([]byte) (Req, error), mint func(req Req, now time.Time, ttl time.Duration) (any, error)) http.Handler {
	ttl := opts.DevUserSigTTL
	if ttl <= 0 {
		ttl = DefaultDevUserSigTTL
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
			return
		}
		req, err := parse(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := mint(req, now(), ttl)
		if err != nil {
			logger.Error("mint development "+what, "request", req, "error", err)
			http.Error(w, "cannot make a "+what, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res)
	})
}
