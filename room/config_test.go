package room

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"zero empty timeout", func(c *Config) { c.EmptyTimeout = 0 }, "room.empty_timeout: must be > 0"},
		{"negative empty timeout", func(c *Config) { c.EmptyTimeout = -time.Second }, "room.empty_timeout: must be > 0"},
		{"volume at lower bound", func(c *Config) { c.VolumeInterval = 100 * time.Millisecond }, ""},
		{"volume at upper bound", func(c *Config) { c.VolumeInterval = 5 * time.Second }, ""},
		{"volume too short", func(c *Config) { c.VolumeInterval = 99 * time.Millisecond }, "room.volume_interval: must be within 100ms..5s"},
		{"volume too long", func(c *Config) { c.VolumeInterval = 6 * time.Second }, "room.volume_interval"},
		{"quality at bounds", func(c *Config) { c.QualityInterval = 500 * time.Millisecond }, ""},
		{"quality at upper bound", func(c *Config) { c.QualityInterval = time.Minute }, ""},
		{"quality too short", func(c *Config) { c.QualityInterval = 499 * time.Millisecond }, "room.quality_interval: must be within 500ms..1m0s"},
		{"quality too long", func(c *Config) { c.QualityInterval = 61 * time.Second }, "room.quality_interval"},
		{"no pending remote views", func(c *Config) { c.MaxPendingRemoteViews = 0 }, "room.max_pending_remote_views: must be 1..1024"},
		{"too many pending remote views", func(c *Config) { c.MaxPendingRemoteViews = 1025 }, "room.max_pending_remote_views"},
		{"participants uncapped", func(c *Config) { c.MaxParticipants = 0 }, ""},
		{"participants at lower bound", func(c *Config) { c.MaxParticipants = 2 }, ""},
		{"participants at upper bound", func(c *Config) { c.MaxParticipants = 10000 }, ""},
		{"one participant", func(c *Config) { c.MaxParticipants = 1 }, "room.max_participants: must be 0 (no cap) or 2..10000, got 1"},
		{"negative participants", func(c *Config) { c.MaxParticipants = -1 }, "room.max_participants"},
		{"too many participants", func(c *Config) { c.MaxParticipants = 10001 }, "room.max_participants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDefaultConfigValues(t *testing.T) {
	c := DefaultConfig()
	if c.EmptyTimeout != 30*time.Second || c.VolumeInterval != 300*time.Millisecond || c.QualityInterval != 2*time.Second || c.MaxPendingRemoteViews != 32 {
		t.Fatalf("DefaultConfig() = %+v", c)
	}
}
