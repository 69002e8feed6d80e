package protocol

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRateLimitedRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		limit      string
		retryAfter time.Duration
		wantMs     int64
	}{
		{"whole ms", LimitTrickles, 20 * time.Millisecond, 20},
		{"rounded up", LimitInvitations, 1500 * time.Microsecond, 2},
		{"at least 1 ms", LimitFailedLogins, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := RateLimited(tt.limit, tt.retryAfter)
			want := RateLimitData{Limit: tt.limit, RetryAfterMs: tt.wantMs}
			if got, ok := e.RateLimit(); !ok || got != want {
				t.Fatalf("server side: %+v %v, want %+v", got, ok, want)
			}
			wire, err := json.Marshal(NewErrorResponse(json.RawMessage("1"), e))
			if err != nil {
				t.Fatal(err)
			}
			var resp Response
			if err := json.Unmarshal(wire, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.Error.Code != CodeRateLimited {
				t.Fatalf("code %d", resp.Error.Code)
			}
			if got, ok := resp.Error.RateLimit(); !ok || got != want {
				t.Fatalf("decoded %s: %+v %v, want %+v", wire, got, ok, want)
			}
		})
	}
	if _, ok := NewError(CodeNotLoggedIn, "").RateLimit(); ok {
		t.Fatal("RateLimit of another code")
	}
	if _, ok := (&Error{Code: CodeRateLimited, Data: "x"}).RateLimit(); ok {
		t.Fatal("RateLimit of foreign data")
	}
}
