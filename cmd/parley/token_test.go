package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestTokenRoomGrant: `parley token --room … --rights …` prints a room grant the server
// accepts for exactly that user, room (integer or string form) and rights.
func TestTokenRoomGrant(t *testing.T) {
	verifier, err := signaling.NewVerifier(configs.Default().Auth)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		room       protocol.RoomID
		otherForm  protocol.RoomID // the same digits in the other kind: refused
		wantRights signaling.Rights
	}{
		{"integer room, default rights", []string{"--room", "123"}, protocol.IntRoom(123), protocol.StrRoom("123"),
			signaling.Rights{Publish: true, Subscribe: true}},
		{"quoted digits are a string room", []string{"--room", `"123"`, "--rights", "subscribe"}, protocol.StrRoom("123"), protocol.IntRoom(123),
			signaling.Rights{Subscribe: true}},
		{"plain string room", []string{"--room=team sync", "--rights=publish"}, protocol.StrRoom("team sync"), protocol.RoomID{},
			signaling.Rights{Publish: true}},
		{"both rights reversed", []string{"--room", "2147483647", "--rights", "subscribe,publish"}, protocol.IntRoom(2147483647), protocol.StrRoom("2147483647"),
			signaling.Rights{Publish: true, Subscribe: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"token", "--user", "alice", "--ttl", "10m"}, tt.args...)
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			grant := strings.TrimSpace(stdout.String())
			now := time.Now()
			rights, err := verifier.VerifyRoomGrant(signaling.DevSDKAppID, "alice", tt.room, grant, now)
			if err != nil || rights != tt.wantRights {
				t.Fatalf("VerifyRoomGrant = %+v, %v; want %+v", rights, err, tt.wantRights)
			}
			if _, err := verifier.VerifyRoomGrant(signaling.DevSDKAppID, "alice", tt.room, grant, now.Add(11*time.Minute)); !errors.Is(err, signaling.ErrRoomGrantExpired) {
				t.Errorf("after the ttl: %v, want expired", err)
			}
			if !tt.otherForm.IsZero() {
				if _, err := verifier.VerifyRoomGrant(signaling.DevSDKAppID, "alice", tt.otherForm, grant, now); !errors.Is(err, signaling.ErrRoomGrantInvalid) {
					t.Errorf("grant for %s accepted for %s: %v", tt.room, tt.otherForm, err)
				}
			}
			if _, err := verifier.Verify(signaling.DevSDKAppID, "alice", grant, now); err == nil {
				t.Error("the room grant logs in as a userSig")
			}
		})
	}
}

// TestTokenFlagErrors: every bad invocation exits non-zero with a message on stderr that
// names the problem (never silently).
func TestTokenFlagErrors(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "apps.yaml")
	if err := os.WriteFile(cfg, []byte("auth:\n  dev_mode: false\n  apps:\n    - sdk_app_id: 7\n      secret: a-production-like-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"unknown flag", []string{"--user", "a", "--romm", "1"}, 2, "unknown flag: --romm"},
		{"flag without value", []string{"--user", "a", "--room"}, 2, "flag needs an argument"},
		{"bad ttl", []string{"--user", "a", "--ttl", "soon"}, 2, "--ttl"},
		{"stray argument", []string{"--user", "a", "extra"}, 2, `unexpected argument "extra"`},
		{"no user", []string{"--room", "1"}, 2, "--user is required"},
		{"rights without room", []string{"--user", "a", "--rights", "publish"}, 2, "--rights needs --room"},
		{"room zero", []string{"--user", "a", "--room", "0"}, 2, "outside 1..2147483647"},
		{"room too big", []string{"--user", "a", "--room", "2147483648"}, 2, `for a string room write '"2147483648"'`},
		{"negative room", []string{"--user", "a", "--room", "-5"}, 2, "integer room -5"},
		{"empty room", []string{"--user", "a", "--room", ""}, 2, "--room"},
		{"bad string room", []string{"--user", "a", "--room", "a/b"}, 2, "is not a room id"},
		{"long string room", []string{"--user", "a", "--room", strings.Repeat("r", 65)}, 2, "is not a room id"},
		{"broken quotes", []string{"--user", "a", "--room", `"123`}, 2, "not a JSON string"},
		{"empty rights", []string{"--user", "a", "--room", "1", "--rights", ""}, 2, "--rights"},
		{"unknown right", []string{"--user", "a", "--room", "1", "--rights", "publish,admin"}, 2, `unknown right "admin"`},
		{"duplicate right", []string{"--user", "a", "--room", "1", "--rights", "publish,publish"}, 2, "given twice"},
		{"bad user", []string{"--user", "a b", "--room", "1"}, 1, "invalid userId"},
		{"unknown app", []string{"--user", "a", "--room", "1", "--app", "5"}, 1, "SDKAppID 5 is not configured"},
		{"app of another config", []string{"--user", "a", "--room", "1", "--config", cfg}, 1, "not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"token"}, tt.args...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantMsg) {
				t.Fatalf("stderr %q does not say %q", stderr.String(), tt.wantMsg)
			}
			if stdout.Len() != 0 {
				t.Fatalf("printed a token on failure: %q", stdout.String())
			}
		})
	}
	// With a config of its own, the token is for that app.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"token", "--config", cfg, "--app", "7", "--user", "a", "--room", "standup"}, &stdout, &stderr); code != 0 {
		t.Fatalf("token with --config: exit %d: %s", code, stderr.String())
	}
}

// TestTokenReadsOnlyTheAuthSection: `parley token --config` with a server's file whose
// database DSN and webhook secret the server takes from its environment (as README
// advises) mints a userSig for the file's app; the file's keys are still checked.
func TestTokenReadsOnlyTheAuthSection(t *testing.T) {
	const secret = "a-production-like-secret-0123456789"
	dir := t.TempDir()
	server := filepath.Join(dir, "server.yaml")
	body := "auth:\n  dev_mode: false\n  apps:\n    - sdk_app_id: 7\n      secret: " + secret +
		"\nrecords:\n  driver: postgres\nwebhooks:\n  urls: [http://127.0.0.1:1/hook]\n"
	typo := filepath.Join(dir, "typo.yaml")
	for path, b := range map[string]string{server: body, typo: body + "cluster:\n  redis_uri: redis://r\n"} {
		if err := os.WriteFile(path, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"token", "--app", "7", "--user", "alice", "--config", server}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	verifier, err := signaling.NewVerifier(signaling.AuthConfig{Apps: []signaling.AppCredential{{SDKAppID: 7, Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.Verify(7, "alice", strings.TrimSpace(stdout.String()), time.Now()); err != nil {
		t.Fatalf("the userSig does not verify with the file's secret: %v", err)
	}
	stderr.Reset()
	if code := run([]string{"token", "--app", "7", "--user", "alice", "--config", typo}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "cluster.redis_uri") {
		t.Fatalf("a file with an unknown key: exit %d, %q", code, stderr.String())
	}
}
