package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling"
)

// devVerifier is a verifier of the development app, as a dev-mode server has.
func devVerifier(t testing.TB) *signaling.Verifier {
	t.Helper()
	v, err := signaling.NewVerifier(signaling.DefaultAuthConfig())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func devOptions(t testing.TB) Options {
	v := devVerifier(t)
	return Options{DevMode: true, DevSDKAppID: signaling.DevSDKAppID, MintUserSig: v.Mint, MintRoomGrant: v.MintRoomGrant}
}

func do(t *testing.T, h http.Handler, method, path, body string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// doDev sends a request to a dev endpoint and checks its status; on 200 it decodes the
// JSON answer into out and reports true.
func doDev(t *testing.T, h http.Handler, method, path, body string, wantCode int, out any) bool {
	t.Helper()
	res := do(t, h, method, path, body)
	if res.StatusCode != wantCode {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("status %d, want %d (%s)", res.StatusCode, wantCode, b)
	}
	if wantCode != http.StatusOK {
		return false
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
	return true
}

func TestDevUserSigEndpoint(t *testing.T) {
	h := Handler(devOptions(t))
	tests := []struct {
		name     string
		method   string
		body     string
		wantCode int
	}{
		{name: "valid", method: http.MethodPost, body: `{"userId":"alice"}`, wantCode: http.StatusOK},
		{name: "unknown members ignored", method: http.MethodPost, body: `{"userId":"bob_2","x":1}`, wantCode: http.StatusOK},
		{name: "empty userId", method: http.MethodPost, body: `{"userId":""}`, wantCode: http.StatusBadRequest},
		{name: "bad characters", method: http.MethodPost, body: `{"userId":"a b"}`, wantCode: http.StatusBadRequest},
		{name: "too long userId", method: http.MethodPost, body: `{"userId":"` + strings.Repeat("a", 65) + `"}`, wantCode: http.StatusBadRequest},
		{name: "not json", method: http.MethodPost, body: `userId=alice`, wantCode: http.StatusBadRequest},
		{name: "wrong type", method: http.MethodPost, body: `{"userId":5}`, wantCode: http.StatusBadRequest},
		{name: "huge body", method: http.MethodPost, body: `{"userId":"alice","pad":"` + strings.Repeat("x", 2000) + `"}`, wantCode: http.StatusBadRequest},
		{name: "GET not allowed", method: http.MethodGet, wantCode: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got devUserSigResponse
			if !doDev(t, h, tt.method, "/dev/usersig", tt.body, tt.wantCode, &got) {
				return
			}
			claims, err := devVerifier(t).Verify(got.SDKAppID, got.UserID, got.UserSig, time.Now())
			if err != nil {
				t.Fatalf("minted userSig does not verify: %v", err)
			}
			if got.SDKAppID != signaling.DevSDKAppID || claims.UserID != got.UserID || got.ExpiresAt != claims.ExpiresAt.Unix() {
				t.Fatalf("response %+v, claims %+v", got, claims)
			}
		})
	}
}

// TestDevUserSigAbsentWithoutDevMode: with auth.dev_mode off (or a minter missing) the
// dev endpoints do not exist.
func TestDevUserSigAbsentWithoutDevMode(t *testing.T) {
	v := devVerifier(t)
	tests := []struct {
		name string
		opts Options
	}{
		{name: "dev mode off", opts: Options{MintUserSig: v.Mint, MintRoomGrant: v.MintRoomGrant, DevSDKAppID: signaling.DevSDKAppID}},
		{name: "dev mode without minter", opts: Options{DevMode: true}},
		{name: "dev mode without room grant minter", opts: Options{DevMode: true, MintUserSig: v.Mint, DevSDKAppID: signaling.DevSDKAppID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Handler(tt.opts)
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				for _, path := range []string{"/dev/usersig", "/dev/roomgrant"} {
					res := do(t, h, method, path, `{"userId":"alice","roomId":1}`)
					if res.StatusCode != http.StatusNotFound {
						t.Fatalf("%s %s: status %d, want 404", method, path, res.StatusCode)
					}
				}
			}
			// The page and the SDK are still served.
			if res := do(t, h, http.MethodGet, "/", ""); res.StatusCode != http.StatusOK {
				t.Fatalf("GET /: %d", res.StatusCode)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{DevMode: true}).Validate(); !errors.Is(err, ErrNoMinter) {
		t.Fatalf("Validate = %v, want ErrNoMinter", err)
	}
	if err := (Options{DevMode: true, MintUserSig: devVerifier(t).Mint}).Validate(); !errors.Is(err, ErrNoMinter) {
		t.Fatalf("Validate without MintRoomGrant = %v, want ErrNoMinter", err)
	}
	if err := devOptions(t).Validate(); err != nil {
		t.Fatalf("Validate of dev options = %v", err)
	}
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("Validate of production options = %v", err)
	}
}

func TestStaticFiles(t *testing.T) {
	h := Handler(Options{})
	tests := []struct {
		path        string
		wantCode    int
		wantType    string
		wantContent string
	}{
		{path: "/", wantCode: 200, wantType: "text/html", wantContent: `<script type="module" src="app.js">`},
		{path: "/app.js", wantCode: 200, wantType: "text/javascript", wantContent: "from '/sdk/parley.js'"},
		{path: "/style.css", wantCode: 200, wantType: "text/css", wantContent: ".grid"},
		{path: "/lab/", wantCode: 200, wantType: "text/html", wantContent: `<script type="module" src="app.js">`},
		{path: "/kit/parley-call-kit.js", wantCode: 200, wantType: "text/javascript", wantContent: "customElements.define('parley-call-kit'"},
		{path: "/kit/history.js", wantCode: 200, wantType: "text/javascript", wantContent: "customElements.define('parley-call-history'"},
		{path: "/sdk/parley.js", wantCode: 200, wantType: "text/javascript", wantContent: "export class ParleyCallEngine"},
		{path: "/sdk/peers.js", wantCode: 200, wantType: "text/javascript", wantContent: "export class MediaSession"},
		{path: "/sdk/rpc.js", wantCode: 200, wantType: "text/javascript", wantContent: "export class RpcSocket"},
		{path: "/nope.js", wantCode: 404},
		{path: "/%ff", wantCode: 400, wantContent: "not valid UTF-8"}, // not a 500 from the file server
		{path: "/sdk/%c3%28", wantCode: 400, wantContent: "not valid UTF-8"},
		{path: "/sdk/", wantCode: 200, wantType: "text/html"}, // directory listing of the SDK's modules
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := do(t, h, http.MethodGet, tt.path, "")
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.wantCode)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Fatalf("Content-Type %q, want %q", ct, tt.wantType)
			}
			if !strings.Contains(string(body), tt.wantContent) {
				t.Fatalf("body does not contain %q", tt.wantContent)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Content-Security-Policy") == "" {
				t.Fatalf("security headers missing: %v", res.Header)
			}
		})
	}
}

func FuzzParseDevUserSigRequest(f *testing.F) {
	for _, s := range []string{`{"userId":"alice"}`, `{"userId":""}`, `{}`, `null`, `[]`, `{"userId":"a\u0000"}`, `{"userId":"` + strings.Repeat("z", 64) + `"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseDevUserSigRequest(body)
		if err != nil {
			if !errors.Is(err, ErrBadUserSigRequest) {
				t.Fatalf("error %v does not wrap ErrBadUserSigRequest", err)
			}
			return
		}
		if req.UserID == "" || len(req.UserID) > 64 || len(body) > maxDevUserSigRequestBytes {
			t.Fatalf("accepted %q → %+v", body, req)
		}
		for _, c := range req.UserID {
			if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				t.Fatalf("accepted userId %q", req.UserID)
			}
		}
	})
}

// TestDevUserSigOnServer asks a whole server (signaling + this handler) over HTTP: the
// endpoints answer in dev mode and do not exist with auth.dev_mode off.
func TestDevUserSigOnServer(t *testing.T) {
	tests := []struct {
		name     string
		devMode  bool
		wantCode int
	}{
		{name: "dev mode", devMode: true, wantCode: http.StatusOK},
		{name: "production", devMode: false, wantCode: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTestServer(t, tt.devMode)
			for _, path := range []string{"/dev/usersig", "/dev/roomgrant"} {
				res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(`{"userId":"alice","roomId":"standup"}`))
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != tt.wantCode {
					t.Fatalf("POST %s: status %d, want %d", path, res.StatusCode, tt.wantCode)
				}
			}
			page, err := http.Get(srv.URL + "/sdk/parley.js")
			if err != nil {
				t.Fatal(err)
			}
			page.Body.Close()
			if page.StatusCode != http.StatusOK {
				t.Fatalf("GET /sdk/parley.js: %d", page.StatusCode)
			}
		})
	}
	http.DefaultClient.CloseIdleConnections()
}
