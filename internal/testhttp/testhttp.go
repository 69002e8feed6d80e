package testhttp

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Timeout bounds one request, its answer included.
const Timeout = 30 * time.Second

// Do sends one request with body (none when empty) and returns the status, the headers
// and the body of the answer. contentType and bearer, when not empty, set Content-Type and
// "Authorization: Bearer <bearer>"; header adds (or replaces) more. A request that cannot
// be built, sent or read within Timeout fails t.
func Do(t testing.TB, method, url, contentType, bearer, body string, header http.Header) (int, http.Header, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}
