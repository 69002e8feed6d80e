package configs

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "parley.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) (string, bool) { return "", false }

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := load("", nil, noEnv)
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if cfg.HTTP.Address != "127.0.0.1:7880" {
		t.Errorf("http.address = %q", cfg.HTTP.Address)
	}
	// Spec D20 and D21: volume every 300 ms, network quality every 2 s by default.
	if cfg.Room.VolumeInterval != 300*time.Millisecond || cfg.Room.QualityInterval != 2*time.Second {
		t.Errorf("room.volume_interval = %s, room.quality_interval = %s", cfg.Room.VolumeInterval, cfg.Room.QualityInterval)
	}
	// Both ends of D20's 100ms..5s are allowed.
	for _, v := range []string{"100ms", "5s"} {
		cfg, err := load(writeFile(t, "room:\n  volume_interval: "+v+"\n"), nil, noEnv)
		if err != nil {
			t.Fatalf("room.volume_interval %s: %v", v, err)
		}
		if got, _ := time.ParseDuration(v); cfg.Room.VolumeInterval != got {
			t.Errorf("room.volume_interval %s loaded as %s", v, cfg.Room.VolumeInterval)
		}
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr error
		wantKey string
	}{
		{"unknown top-level key", "colour: blue\n", ErrUnknownKey, `"colour"`},
		{"unknown nested key", "http:\n  adress: 127.0.0.1:1\n", ErrUnknownKey, `"http.adress"`},
		{"bad port", "http:\n  address: 127.0.0.1:70000\n", ErrInvalid, "http.address"},
		{"port not a number", "http:\n  address: 127.0.0.1:http\n", ErrInvalid, "http.address"},
		{"negative timeout", "http:\n  drain_timeout: -5s\n", ErrInvalid, "http.drain_timeout"},
		{"bad media port", "rtc:\n  udp_port: 70000\n", ErrInvalid, "rtc.udp_port"},
		{"negative room timeout", "room:\n  empty_timeout: -1s\n", ErrInvalid, "room.empty_timeout"},
		{"volume interval under 100ms (D20)", "room:\n  volume_interval: 99ms\n", ErrInvalid, "room.volume_interval"},
		{"volume interval over 5s (D20)", "room:\n  volume_interval: 5001ms\n", ErrInvalid, "room.volume_interval"},
		{"quality interval zero (D21)", "room:\n  quality_interval: 0s\n", ErrInvalid, "room.quality_interval"},
		{"bad turn port", "turn:\n  udp_port: -3\n", ErrInvalid, "turn.udp_port"},
		{"unknown rtc key", "rtc:\n  node_ipp: 1.2.3.4\n", ErrUnknownKey, `"rtc.node_ipp"`},
		{"bad log format", "log:\n  format: xml\n", ErrInvalid, "log.format"},
		{"negative scrape rate (D331)", "metrics:\n  scrapes_per_minute: -1\n", ErrInvalid, "metrics.scrapes_per_minute"},
		{"scrape rate without a burst (D331)", "metrics:\n  scrapes_burst: 0\n", ErrInvalid, "metrics.scrapes_burst"},
		{"negative scrapes in flight (D331)", "metrics:\n  max_in_flight: -2\n", ErrInvalid, "metrics.max_in_flight"},
		{"dev mode on a public address", "http:\n  address: 0.0.0.0:7880\n", ErrInvalid, "auth.dev_mode"},
		{"dev secret outside dev mode", "auth:\n  dev_mode: false\n", ErrInvalid, "auth.apps[0].secret"},
		{"app secret under 32 bytes", "auth:\n  dev_mode: false\n  apps:\n    - sdk_app_id: 7\n      secret: " + strings.Repeat("s", 31) + "\n", ErrInvalid, "auth.apps[0].secret"},
		{"production sample's placeholder", "auth:\n  dev_mode: false\n  apps:\n    - sdk_app_id: 7\n      secret: " + SamplePlaceholderSecret + "\n", ErrInvalid, "auth.apps[0].secret"},
		{"turn secret under 32 bytes", "turn:\n  secret: " + strings.Repeat("t", 31) + "\n", ErrInvalid, "turn.secret"},
		{"development secret as turn secret", "turn:\n  secret: parley-development-secret-do-not-deploy\n", ErrInvalid, "turn.secret"},
		{"admin key under 32 bytes", "admin:\n  api_key: " + strings.Repeat("a", 31) + "\n", ErrInvalid, "admin.api_key"},
		{"placeholder as admin key", "admin:\n  api_key: " + SamplePlaceholderSecret + "\n", ErrInvalid, "admin.api_key"},
		{"no header timeout", "http:\n  read_header_timeout: 0s\n", ErrInvalid, "http.read_header_timeout"},
		{"read timeout under header timeout", "http:\n  read_timeout: 5s\n", ErrInvalid, "http.read_timeout"},
		{"idle timeout over 1h", "http:\n  idle_timeout: 2h\n", ErrInvalid, "http.idle_timeout"},
		{"write timeout negative", "http:\n  write_timeout: -1s\n", ErrInvalid, "http.write_timeout"},
		{"header limit under 4096", "http:\n  max_header_bytes: 100\n", ErrInvalid, "http.max_header_bytes"},
		{"negative per-IP cap", "http:\n  max_conns_per_ip: -1\n", ErrInvalid, "http.max_conns_per_ip"},
		{"metrics address not host:port", "metrics:\n  address: nowhere\n", ErrInvalid, "metrics.address"},
		{"metrics on the http listener", "metrics:\n  address: 127.0.0.1:7880\n", ErrInvalid, "metrics.address"},
		{"invitation burst below one request", "limits:\n  invitations_burst: 8\n", ErrInvalid, "limits.invitations_burst"},
		{"unknown limits key", "limits:\n  trickles: 5\n", ErrUnknownKey, `"limits.trickles"`},
		{"zero profile writes (D180)", "limits:\n  profile_writes_per_minute: 0\n", ErrInvalid, "limits.profile_writes_per_minute"},
		{"zero record request burst (D181)", "limits:\n  record_requests_burst: 0\n", ErrInvalid, "limits.record_requests_burst"},
		{"negotiations beyond the cap (D182)", "limits:\n  negotiations_per_minute: 100001\n", ErrInvalid, "limits.negotiations_per_minute"},
		{"negative room join burst (D182)", "limits:\n  room_joins_burst: -1\n", ErrInvalid, "limits.room_joins_burst"},
		{"zero logins (D193)", "limits:\n  logins_per_minute: 0\n", ErrInvalid, "limits.logins_per_minute"},
		{"connection login burst beyond the cap (D193)", "limits:\n  connection_logins_burst: 100001\n", ErrInvalid, "limits.connection_logins_burst"},
		{"bad deny cidr", "rtc:\n  deny_candidate_cidrs: [10.0.0.0/40]\n", ErrInvalid, "rtc.deny_candidate_cidrs"},
		{"zero login timeout", "signaling:\n  login_timeout: 0s\n", ErrInvalid, "signaling.login_timeout"},
		{"no stored profiles", "signaling:\n  max_stored_profiles: 0\n", ErrInvalid, "signaling.max_stored_profiles"},
		{"profile ttl under a second", "cluster:\n  profile_ttl: 10ms\n", ErrInvalid, "cluster.profile_ttl"},
		{"unknown room placement", "cluster:\n  room_placement: random\n", ErrInvalid, "cluster.room_placement"},
		{"unknown records driver", "records:\n  driver: mysql\n", ErrInvalid, "records.driver"},
		{"postgres records without a DSN", "records:\n  driver: postgres\n", ErrInvalid, "records.postgres_dsn"},
		{"zero pending remote views", "room:\n  max_pending_remote_views: 0\n", ErrInvalid, "room.max_pending_remote_views"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(writeFile(t, tt.file), nil, noEnv)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantKey) {
				t.Errorf("error %q does not name %s", err, tt.wantKey)
			}
		})
	}
}

func TestPrecedenceDefaultsFileEnvFlags(t *testing.T) {
	file := writeFile(t, "http:\n  address: 127.0.0.1:1001\n  drain_timeout: 7s\nlog:\n  level: debug\n")
	env := map[string]string{
		"PARLEY_HTTP_ADDRESS": "127.0.0.1:1002",
		"PARLEY_LOG_FORMAT":   "json",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse([]string{"--http.address=127.0.0.1:1003"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(file, fs, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Address != "127.0.0.1:1003" {
		t.Errorf("flag should win: address = %q", cfg.HTTP.Address)
	}
	if cfg.Log.Format != "json" {
		t.Errorf("env should beat default: format = %q", cfg.Log.Format)
	}
	if cfg.Log.Level != "debug" {
		t.Errorf("file should beat default: level = %q", cfg.Log.Level)
	}
	if cfg.HTTP.DrainTimeout != 7*time.Second {
		t.Errorf("file duration: %s", cfg.HTTP.DrainTimeout)
	}

	// Without the flag, env beats the file.
	cfg, err = load(file, nil, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Address != "127.0.0.1:1002" {
		t.Errorf("env should beat file: address = %q", cfg.HTTP.Address)
	}
}

// TestSampleFilesAreCompleteAndValid keeps configs/*.yaml in step with the code: every key
// appears in parley.yaml (commented or not), and each sample loads.
func TestSampleFilesAreCompleteAndValid(t *testing.T) {
	body, err := os.ReadFile("parley.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		leaf := k[strings.LastIndex(k, ".")+1:]
		if !strings.Contains(string(body), leaf+":") {
			t.Errorf("parley.yaml does not document %s", k)
		}
	}
	samples, _ := filepath.Glob("*.yaml")
	for _, s := range samples {
		if strings.HasPrefix(s, "docker-compose") || s == "parley.production.yaml" {
			continue // a Compose file, not a Parley configuration; the production sample below
		}
		if _, err := load(s, nil, noEnv); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

// TestProductionSampleNeedsRealSecrets: parley.production.yaml as shipped does not start
// (its auth.apps secret is the placeholder); with a real secret it does, with dev mode
// off and /metrics on a loopback listener of its own.
func TestProductionSampleNeedsRealSecrets(t *testing.T) {
	if _, err := load("parley.production.yaml", nil, noEnv); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "auth.apps[0].secret") {
		t.Fatalf("the sample with its placeholder: err = %v, want one naming auth.apps[0].secret", err)
	}
	body, err := os.ReadFile("parley.production.yaml")
	if err != nil {
		t.Fatal(err)
	}
	real := strings.ReplaceAll(string(body), SamplePlaceholderSecret, strings.Repeat("r", 32))
	if real == string(body) {
		t.Fatal("the production sample does not hold SamplePlaceholderSecret")
	}
	cfg, err := load(writeFile(t, real), nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := net.SplitHostPort(cfg.Metrics.Address)
	if cfg.Auth.DevMode || !net.ParseIP(host).IsLoopback() || cfg.Metrics.Address == cfg.HTTP.Address {
		t.Fatalf("auth.dev_mode %v, metrics.address %q (http.address %q): want dev mode off and /metrics on loopback",
			cfg.Auth.DevMode, cfg.Metrics.Address, cfg.HTTP.Address)
	}
}
