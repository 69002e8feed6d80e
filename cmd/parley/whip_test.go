package main

import (
	"net/http"
	"testing"
)

// TestWHIPMounted: with whip.enabled the server answers WHIP at /whip/ (GET on an
// endpoint is not a WHIP method: 405; a session that does not exist: 404 from WHIP, with
// its plain-text message); without it /whip/ is not served (the web handler's 404).
func TestWHIPMounted(t *testing.T) {
	tests := []struct {
		name     string
		enabled  bool
		endpoint int // GET /whip/123
	}{
		{"enabled", true, http.StatusMethodNotAllowed},
		{"disabled", false, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.WHIP.Enabled = tt.enabled
			r := startServe(t, cfg)
			if code := httpStatus(t, r.url("/whip/123"), nil); code != tt.endpoint {
				t.Fatalf("GET /whip/123: %d, want %d", code, tt.endpoint)
			}
		})
	}
}
