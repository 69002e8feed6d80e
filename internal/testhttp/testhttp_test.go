package testhttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDo: the method, body, Content-Type, bearer token and extra headers reach the server;
// its status, headers and body come back; no body is sent when body is empty.
func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+"|"+r.Header.Get("Content-Type")+"|"+r.Header.Get("Authorization")+"|"+r.Header.Get("X-Extra"))
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write(append([]byte("got:"), b...))
	}))
	defer srv.Close()
	tests := []struct {
		name                     string
		method, ct, bearer, body string
		header                   http.Header
		wantSeen, wantBody       string
	}{
		{"everything", http.MethodPost, "application/sdp", "tok", "v=0", http.Header{"X-Extra": {"1"}}, "POST|application/sdp|Bearer tok|1", "got:v=0"},
		{"bare", http.MethodGet, "", "", "", nil, "GET|||", "got:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := Do(t, tt.method, srv.URL, tt.ct, tt.bearer, tt.body, tt.header)
			if code != http.StatusTeapot || h.Get("X-Seen") != tt.wantSeen || body != tt.wantBody {
				t.Fatalf("%d %q %q", code, h.Get("X-Seen"), body)
			}
		})
	}
}
