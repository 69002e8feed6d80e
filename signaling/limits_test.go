package signaling

import (
	"strings"
	"testing"
)

func TestLimitsConfigValidate(t *testing.T) {
	if err := DefaultLimitsConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*LimitsConfig)
		key    string
	}{
		{"no failed logins", func(c *LimitsConfig) { c.FailedLoginsPerMinute = 0 }, "limits.failed_logins_per_minute"},
		{"no failed login burst", func(c *LimitsConfig) { c.FailedLoginsBurst = 0 }, "limits.failed_logins_burst"},
		{"no invitations", func(c *LimitsConfig) { c.InvitationsPerMinute = 0 }, "limits.invitations_per_minute"},
		{"burst below one full request", func(c *LimitsConfig) { c.InvitationsBurst = 31 }, "limits.invitations_burst: must be 32.."},
		{"negative trickles", func(c *LimitsConfig) { c.TricklesPerSecond = -1 }, "limits.trickles_per_second"},
		{"trickle burst too big", func(c *LimitsConfig) { c.TricklesBurst = 100_001 }, "limits.trickles_burst"},
		{"zero media switches", func(c *LimitsConfig) { c.MediaSwitchesPerMinute = 0 }, "limits.media_switches_per_minute"},
		{"media switch burst too big", func(c *LimitsConfig) { c.MediaSwitchesBurst = 100_001 }, "limits.media_switches_burst"},
		{"zero device toggles", func(c *LimitsConfig) { c.DeviceTogglesPerMinute = 0 }, "limits.device_toggles_per_minute"},
		{"device toggle burst too big", func(c *LimitsConfig) { c.DeviceTogglesBurst = 100_001 }, "limits.device_toggles_burst"},
		{"zero profile writes", func(c *LimitsConfig) { c.ProfileWritesPerMinute = 0 }, "limits.profile_writes_per_minute"},
		{"no profile write burst", func(c *LimitsConfig) { c.ProfileWritesBurst = 0 }, "limits.profile_writes_burst"},
		{"record requests too many", func(c *LimitsConfig) { c.RecordRequestsPerMinute = 100_001 }, "limits.record_requests_per_minute"},
		{"negative record request burst", func(c *LimitsConfig) { c.RecordRequestsBurst = -1 }, "limits.record_requests_burst"},
		{"zero negotiations", func(c *LimitsConfig) { c.NegotiationsPerMinute = 0 }, "limits.negotiations_per_minute"},
		{"negotiation burst too big", func(c *LimitsConfig) { c.NegotiationsBurst = 100_001 }, "limits.negotiations_burst"},
		{"zero room joins", func(c *LimitsConfig) { c.RoomJoinsPerMinute = 0 }, "limits.room_joins_per_minute"},
		{"no room join burst", func(c *LimitsConfig) { c.RoomJoinsBurst = 0 }, "limits.room_joins_burst"},
		{"zero logins", func(c *LimitsConfig) { c.LoginsPerMinute = 0 }, "limits.logins_per_minute"},
		{"login burst too big", func(c *LimitsConfig) { c.LoginsBurst = 100_001 }, "limits.logins_burst"},
		{"zero connection logins", func(c *LimitsConfig) { c.ConnectionLoginsPerMinute = 0 }, "limits.connection_logins_per_minute"},
		{"no connection login burst", func(c *LimitsConfig) { c.ConnectionLoginsBurst = 0 }, "limits.connection_logins_burst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultLimitsConfig()
			tt.mutate(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.key)
			}
		})
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"127.0.0.1:50000", "127.0.0.1"},
		{"203.0.113.7:1", "203.0.113.7"},
		{"[::ffff:203.0.113.7]:1", "203.0.113.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:80", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"not an address", "not an address"},
	}
	for _, tt := range tests {
		sess := &session{conn: &Conn{remote: tt.remote}}
		if got := sess.clientKey(); got != tt.want {
			t.Errorf("clientKey(%s) = %q, want %q", tt.remote, got, tt.want)
		}
	}
	if got := (&session{}).clientKey(); got != "" {
		t.Errorf("clientKey without a connection = %q", got)
	}
}
