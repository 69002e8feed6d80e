package turn

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"
)

func newTestServer(t *testing.T, edit func(*Config)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Secret = testSecret
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCredentialsMatchTURNRESTScheme(t *testing.T) {
	s := newTestServer(t, nil)
	now := time.Unix(1_700_000_000, 500_000_000)
	username, password, expires := s.Credentials("alice:phone", now)
	if want := now.Add(12 * time.Hour).Truncate(time.Second); !expires.Equal(want) {
		t.Errorf("expires = %v, want %v", expires, want)
	}
	if want := strconv.FormatInt(expires.Unix(), 10) + ":alice:phone"; username != want {
		t.Errorf("username = %q, want %q", username, want)
	}
	// pion's generator (an implementation we did not write) must agree on the password.
	pionUser, pionPass, err := pionturn.GenerateLongTermTURNRESTCredentials(testSecret, "bob", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := restPassword(testSecret, pionUser); got != pionPass {
		t.Errorf("restPassword(%q) = %q, pion says %q", pionUser, got, pionPass)
	}
	if got := restPassword(testSecret, username); got != password {
		t.Errorf("Credentials password %q does not match restPassword %q", password, got)
	}
}

func TestICEServers(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		edit func(*Config)
		host string
		want []string
	}{
		{"defaults", nil, "turn.example.com", []string{
			"turn:turn.example.com:3478?transport=udp",
			"turn:turn.example.com:3478?transport=tcp",
			"turns:turn.example.com:5349?transport=tcp",
		}},
		{"no tls, relay ip host", func(c *Config) { c.TLSPort = 0; c.RelayIP = "203.0.113.7" }, "", []string{
			"turn:203.0.113.7:3478?transport=udp",
			"turn:203.0.113.7:3478?transport=tcp",
		}},
		{"ipv6 host", func(c *Config) { c.UDPPort = 3479 }, "2001:db8::1", []string{
			"turn:[2001:db8::1]:3479?transport=udp",
			"turn:[2001:db8::1]:3478?transport=tcp",
			"turns:[2001:db8::1]:5349?transport=tcp",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, tc.edit)
			servers := s.ICEServers("alice", now, tc.host)
			if len(servers) != 1 {
				t.Fatalf("ICEServers = %+v, want one entry", servers)
			}
			got := servers[0]
			if strings.Join(got.URLs, " ") != strings.Join(tc.want, " ") {
				t.Errorf("URLs = %v, want %v", got.URLs, tc.want)
			}
			userID, err := checkRESTUsername(got.Username, now)
			if err != nil || userID != "alice" {
				t.Errorf("username %q: user %q, err %v", got.Username, userID, err)
			}
			if got.Credential != restPassword(testSecret, got.Username) {
				t.Errorf("credential %q does not match the username", got.Credential)
			}
		})
	}
	t.Run("bound ports after start", func(t *testing.T) {
		s := startServer(t, nil)
		a := s.Addrs()
		urls := s.ICEServers("alice", now, "127.0.0.1")[0].URLs
		want := []string{
			"turn:" + a.UDP.String() + "?transport=udp",
			"turn:" + a.TCP.String() + "?transport=tcp",
			"turns:" + a.TLS.String() + "?transport=tcp",
		}
		if strings.Join(urls, " ") != strings.Join(want, " ") {
			t.Errorf("URLs = %v, want %v", urls, want)
		}
	})
}

func TestCheckRESTUsername(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		username string
		userID   string
		err      error
	}{
		{"1700000001:alice", "alice", nil},
		{"1700000001:alice:with:colons", "alice:with:colons", nil},
		{"1700000000:alice", "", ErrExpiredCredential}, // expiry == now is expired
		{"1699999999:alice", "", ErrExpiredCredential},
		{"0:alice", "", ErrExpiredCredential},
		{"alice", "", ErrMalformedUsername},
		{"alice:1700000001", "", ErrMalformedUsername},
		{"1700000001", "", ErrMalformedUsername},
		{"1700000001:", "", ErrMalformedUsername},
		{":alice", "", ErrMalformedUsername},
		{"-1700000001:alice", "", ErrMalformedUsername},
		{"+1700000001:alice", "", ErrMalformedUsername},
		{"17000000 01:alice", "", ErrMalformedUsername},
		{"1234567890123456789:alice", "", ErrMalformedUsername}, // 19 digits
		{"999999999999999999:alice", "alice", nil},              // 18 digits
		{"1700000001:" + strings.Repeat("a", 600), "", ErrMalformedUsername},
		{"", "", ErrMalformedUsername},
	}
	for _, tc := range tests {
		t.Run(tc.username, func(t *testing.T) {
			userID, err := checkRESTUsername(tc.username, now)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("checkRESTUsername(%q) error = %v, want %v", tc.username, err, tc.err)
			}
			if userID != tc.userID {
				t.Errorf("userID = %q, want %q", userID, tc.userID)
			}
		})
	}
}

// FuzzParseRESTUsername: no input panics; an accepted username has a non-empty userId,
// fits STUN's USERNAME limit and, when written canonically, round-trips.
func FuzzParseRESTUsername(f *testing.F) {
	for _, seed := range []string{
		"1700000001:alice", "1700000001:a:b", "0:x", ":", "", "1:", ":1", "99999999999999999999:x",
		"-5:x", "1e9:x", "١٢٣:x", "1700000001:\x00\xff", strings.Repeat("9", 18) + ":u",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, username string) {
		expires, userID, err := parseRESTUsername(username)
		if err != nil {
			if !errors.Is(err, ErrMalformedUsername) {
				t.Fatalf("parseRESTUsername(%q) error %v is not ErrMalformedUsername", username, err)
			}
			return
		}
		if userID == "" || len(username) > maxUsernameLength || expires.Unix() < 0 {
			t.Fatalf("parseRESTUsername(%q) accepted userID %q expires %v", username, userID, expires)
		}
		canonical := restUsername(userID, expires)
		e2, u2, err := parseRESTUsername(canonical)
		if err != nil || u2 != userID || !e2.Equal(expires) {
			t.Fatalf("round trip of %q via %q: %v %q %v", username, canonical, e2, u2, err)
		}
		if !strings.HasSuffix(username, ":"+userID) {
			t.Fatalf("userID %q is not the tail of %q", userID, username)
		}
	})
}
