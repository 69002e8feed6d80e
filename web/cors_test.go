package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSDKCORS: /sdk/ answers a page of an allowed origin (signaling.allowed_origins) with
// Access-Control-Allow-Origin naming it, any other origin with no CORS header, and always
// with Vary: Origin; the demo page gets no CORS header.
func TestSDKCORS(t *testing.T) {
	tests := []struct {
		name      string
		allowed   []string
		path      string
		origin    string
		wantAllow string
		wantVary  bool
	}{
		{name: "listed origin", allowed: []string{"https://app.example", "http://127.0.0.1:9000"}, path: "/sdk/parley.js", origin: "http://127.0.0.1:9000", wantAllow: "http://127.0.0.1:9000", wantVary: true},
		{name: "listed with a trailing slash, other case", allowed: []string{"https://App.Example/"}, path: "/sdk/rpc.js", origin: "https://app.example", wantAllow: "https://app.example", wantVary: true},
		{name: "any origin", allowed: []string{"*"}, path: "/sdk/peers.js", origin: "https://elsewhere.example", wantAllow: "https://elsewhere.example", wantVary: true},
		{name: "declarations", allowed: []string{"https://app.example"}, path: "/sdk/parley.d.ts", origin: "https://app.example", wantAllow: "https://app.example", wantVary: true},
		{name: "package.json", allowed: []string{"https://app.example"}, path: "/sdk/package.json", origin: "https://app.example", wantAllow: "https://app.example", wantVary: true},
		{name: "origin not listed", allowed: []string{"https://app.example"}, path: "/sdk/parley.js", origin: "https://evil.example", wantVary: true},
		{name: "a prefix is not the origin", allowed: []string{"https://app.example"}, path: "/sdk/parley.js", origin: "https://app.example.evil", wantVary: true},
		{name: "no origins configured", path: "/sdk/parley.js", origin: "https://app.example", wantVary: true},
		{name: "no Origin header", allowed: []string{"*"}, path: "/sdk/parley.js", wantVary: true},
		{name: "call kit", allowed: []string{"https://app.example"}, path: "/kit/parley-call-kit.js", origin: "https://app.example", wantAllow: "https://app.example", wantVary: true},
		{name: "call kit, origin not listed", allowed: []string{"https://app.example"}, path: "/kit/render.js", origin: "https://evil.example", wantVary: true},
		{name: "demo page is not shared", allowed: []string{"https://app.example"}, path: "/", origin: "https://app.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Handler(Options{AllowedOrigins: tt.allowed})
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, tt.wantAllow)
			}
			if got := res.Header.Get("Vary") == "Origin"; got != tt.wantVary {
				t.Fatalf("Vary %q, want Origin: %v", res.Header.Get("Vary"), tt.wantVary)
			}
		})
	}
}
