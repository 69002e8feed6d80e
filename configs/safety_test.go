package configs

import (
	"errors"
	"github.com/parley-rtc/parley/signaling"
	"strings"
	"testing"
)

// TestDevModeNeedsLoopback: auth.dev_mode (the default) starts only on a loopback
// http.address, and the refusal names both keys.
func TestDevModeNeedsLoopback(t *testing.T) {
	production := "auth:\n  dev_mode: false\n  apps:\n    - sdk_app_id: 7\n      secret: " + strings.Repeat("p", 32) + "\n"
	tests := []struct {
		address string
		extra   string // more YAML
		ok      bool
	}{
		{"127.0.0.1:7880", "", true},
		{"127.0.0.2:7880", "", true},
		{"localhost:7880", "", true},
		{"[::1]:7880", "", true},
		{"0.0.0.0:7880", "", false},
		{":7880", "", false},
		{"[::]:7880", "", false},
		{"10.0.0.5:7880", "", false},
		{"0.0.0.0:7880", production, true},
	}
	for _, tt := range tests {
		name := tt.address
		if tt.extra != "" {
			name += " dev_mode false"
		}
		t.Run(name, func(t *testing.T) {
			_, err := load(writeFile(t, "http:\n  address: \""+tt.address+"\"\n"+tt.extra), nil, noEnv)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "auth.dev_mode") || !strings.Contains(err.Error(), "http.address") {
				t.Fatalf("err = %v, want one naming auth.dev_mode and http.address", err)
			}
		})
	}
}

// TestConveniences: each development convenience is named by its key, and a production
// configuration has none.
func TestConveniences(t *testing.T) {
	keys := func(cfg Config) string {
		var out []string
		for _, c := range cfg.Conveniences() {
			out = append(out, c.Key)
		}
		return strings.Join(out, ",")
	}
	if got, want := keys(Default()), "auth.dev_mode,auth.apps[0].secret,turn.secret,turn.dev_self_signed"; got != want {
		t.Errorf("defaults: %s, want %s", got, want)
	}
	prod := Default()
	prod.HTTP.Address = "0.0.0.0:7880"
	prod.Auth.DevMode = false
	prod.Auth.Apps[0].Secret = strings.Repeat("p", 32)
	prod.TURN.Secret = strings.Repeat("t", 32)
	prod.TURN.CertFile, prod.TURN.KeyFile = "/etc/cert.pem", "/etc/key.pem"
	prod.Metrics.Address = "127.0.0.1:7881"
	if err := prod.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := keys(prod); got != "" {
		t.Errorf("production: %s, want none", got)
	}
	open := prod
	open.Signaling.AllowedOrigins = []string{"https://app.example", "*"}
	open.Metrics.Address = ""
	open.TURN.StaticUsers = map[string]string{"u": "p"}
	if got, want := keys(open), "signaling.allowed_origins,turn.static_users,metrics.address"; got != want {
		t.Errorf("wildcard origin, static users, public /metrics: %s, want %s", got, want)
	}
	openRooms := prod
	openRooms.Auth.Apps = append([]signaling.AppCredential(nil), prod.Auth.Apps...)
	openRooms.Auth.Apps[0].OpenRooms = true
	if got, want := keys(openRooms), "auth.apps[].open_rooms"; got != want {
		t.Errorf("an app with open rooms: %s, want %s", got, want)
	}

	if _, ok := openRoomsConvenience(nil); ok {
		t.Error("open rooms named with no app")
	}
	if cv, ok := openRoomsConvenience([]int{1400000001, 7}); !ok || cv.Key != "auth.apps[].open_rooms" || !strings.Contains(cv.What, "1400000001, 7") {
		t.Errorf("open rooms: %+v %v", cv, ok)
	}
}
