package testhttp

import (
	"context"
	"io"
	"net"
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
	return DoFrom(t, "", method, url, contentType, bearer, body, header)
}

// DoFrom is Do from the local address from (e.g. "127.0.0.2", to be another client IP
// on loopback) over a connection of its own, closed after the answer; "" is Do.
func DoFrom(t testing.TB, from, method, url, contentType, bearer, body string, header http.Header) (int, http.Header, string) {
	t.Helper()
	httpClient := http.DefaultClient
	if from != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		httpClient = &http.Client{Transport: tr}
	}
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
	resp, err := httpClient.Do(req)
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
