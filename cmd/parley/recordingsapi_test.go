package main

import (
	"strings"
	"testing"
)

// TestParseStartRequest: a number is an integer room, a string a string room (123 and
// "123" are different rooms); what names no room of an app is refused.
func TestParseStartRequest(t *testing.T) {
	tests := []struct {
		body    string
		wantInt int64
		wantStr string
	}{
		{body: `{"sdkAppId": 1400000001, "roomId": 123}`, wantInt: 123},
		{body: `{"sdkAppId": 1400000001, "roomId": "123"}`, wantStr: "123"},
		{body: `{"sdkAppId": 0, "roomId": 123}`},
		{body: `{"sdkAppId": -1, "roomId": 123}`},
		{body: `{"sdkAppId": 1400000001, "roomId": 0}`},
		{body: `{"sdkAppId": 1400000001, "roomId": 2147483648}`},
		{body: `{"sdkAppId": 1400000001, "roomId": "../etc"}`},
		{body: `{"sdkAppId": 1400000001}`},
		{body: `{"sdkAppId": 1400000001, "roomId": 1.5}`},
		{body: `not json`},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			id, err := parseStartRequest(strings.NewReader(tt.body))
			if tt.wantInt == 0 && tt.wantStr == "" {
				if err == nil {
					t.Fatalf("accepted as %v", id)
				}
				return
			}
			if err != nil || id.Int() != tt.wantInt || id.Str() != tt.wantStr || id.App() != 1400000001 {
				t.Fatalf("= %v, %v; want int %d str %q", id, err, tt.wantInt, tt.wantStr)
			}
		})
	}
}

// FuzzParseStartRequest: a start request's body either is refused or names a valid room
// of a positive app.
func FuzzParseStartRequest(f *testing.F) {
	for _, seed := range []string{
		`{"sdkAppId": 1400000001, "roomId": 123}`, `{"sdkAppId": 1400000001, "roomId": "123"}`,
		`{"sdkAppId": 1, "roomId": "a b"}`, `{"roomId": 1}`, `{"sdkAppId": 1e99, "roomId": 1}`,
		`{"sdkAppId": 1, "roomId": null}`, `{"sdkAppId": 1, "roomId": ["1"]}`, `[]`, `{}`, ``,
		`{"sdkAppId": 1, "roomId": "\u0000"}`, `{"sdkAppId": 1, "roomId": 1}{"x":1}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		id, err := parseStartRequest(strings.NewReader(body))
		if err != nil {
			return
		}
		if id.App() <= 0 {
			t.Fatalf("%q: app %d", body, id.App())
		}
		switch {
		case id.IsInt():
			if id.Int() < 1 || id.Int() > 1<<31-1 || id.Str() != "" {
				t.Fatalf("%q: room %v", body, id)
			}
		case id.Str() == "" || len(id.Str()) > 64 || strings.ContainsAny(id.Str(), "/\\\x00*"):
			t.Fatalf("%q: room %v", body, id)
		}
	})
}
