package main

import (
	"net/http"
	"testing"
)

// TestWHIPMounted: with whip.enabled the server answers WHIP at /whip/ and WHEP at
// /whep/ (GET on an endpoint is not one of their methods: 405); without it neither is
// served (the web handler's 404).
func TestWHIPMounted(t *testing.T) {
	tests := []struct {
		name     string
		enabled  bool
		endpoint int // GET /whip/123 and GET /whep/123/alice
	}{
		{"enabled", true, http.StatusMethodNotAllowed},
		{"disabled", false, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.WHIP.Enabled = tt.enabled
			r := startServe(t, cfg)
			for _, path := range []string{"/whip/123", "/whep/123/alice"} {
				if code := httpStatus(t, r.url(path), nil); code != tt.endpoint {
					t.Fatalf("GET %s: %d, want %d", path, code, tt.endpoint)
				}
			}
		})
	}
}
