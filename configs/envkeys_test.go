package configs

import (
	"errors"
	"strings"
	"testing"
)

// TestEnvKeysNameTheTypo: a PARLEY_<SECTION>_… variable that names no key of a section
// stops the load with the variable's name (a typo would otherwise be ignored: a node with
// PARLEY_CLUSTER_REDIS_URI runs alone); a file-only key from the environment is refused;
// variables that are not of a section pass (D228).
func TestEnvKeysNameTheTypo(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    string // "" = accepted
	}{
		{"known keys", []string{"PARLEY_HTTP_ADDRESS=127.0.0.1:1", "PARLEY_CLUSTER_REDIS_URL=redis://r", "PARLEY_RTC_NAT_1TO1_IPS=203.0.113.7", "PATH=/bin"}, ""},
		{"not a section", []string{"PARLEY_PUBLIC_IP=203.0.113.7", "PARLEY_TEST_LOG=1", "PARLEY_SCREENSHOT_DIR=/tmp", "PARLEY=1", "PARLEY_HTTP=x"}, ""},
		{"typo in a key", []string{"PARLEY_HTTP_ADRESS=127.0.0.1:1"}, `PARLEY_HTTP_ADRESS: unknown configuration key "http.adress"`},
		{"cluster key typo", []string{"PARLEY_CLUSTER_REDIS_URI=redis://r"}, `PARLEY_CLUSTER_REDIS_URI: unknown configuration key "cluster.redis_uri"`},
		{"file-only key", []string{"PARLEY_AUTH_APPS=1400000001"}, "PARLEY_AUTH_APPS: auth.apps is a list or map set in the configuration file only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkEnvKeys(tt.environ, configLeaves())
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			case strings.Contains(tt.want, "unknown") && !errors.Is(err, ErrUnknownKey):
				t.Fatalf("error %v is not ErrUnknownKey", err)
			}
		})
	}
}

// TestLoadRefusesAnUnknownEnvKey: Load itself checks the process environment.
func TestLoadRefusesAnUnknownEnvKey(t *testing.T) {
	t.Setenv("PARLEY_WEBHOOKS_URL", "http://127.0.0.1:1/hook")
	if _, err := Load("", nil); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "PARLEY_WEBHOOKS_URL") {
		t.Fatalf("Load with PARLEY_WEBHOOKS_URL: %v, want ErrUnknownKey naming it", err)
	}
}
