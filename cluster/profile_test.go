package cluster

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testservers"
)

// TestProfileHash: SaveProfile sets the given fields of a user's hash and leaves the
// others; LoadProfile returns them (nothing for an unknown user) per (app, user); each
// renews the key's TTL (cluster.profile_ttl), and a TTL of 0 keeps the key forever.
func TestProfileHash(t *testing.T) {
	r := testservers.RunRedis(t)
	tests := []struct {
		name    string
		ttl     time.Duration
		wantTTL bool
	}{
		{"ttl", time.Hour, true},
		{"no expiry", 0, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(r, "p"+string(rune('0'+i)), "")
			cfg.ProfileTTL = tt.ttl
			c, err := New(cfg, Self{}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			user := "u:" + tt.name // a colon in a userId stays part of the key
			if got, err := c.LoadProfile(ctx, 1, user); err != nil || len(got) != 0 {
				t.Fatalf("unknown user: %v, %v", got, err)
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(c.SaveProfile(ctx, 1, user, map[string]string{"a": "1", "b": "2"}))
			must(c.SaveProfile(ctx, 1, user, map[string]string{"b": "3"}))
			must(c.SaveProfile(ctx, 2, user, map[string]string{"a": "other app"}))
			got, err := c.LoadProfile(ctx, 1, user)
			must(err)
			if want := map[string]string{"a": "1", "b": "3"}; !maps.Equal(got, want) {
				t.Fatalf("loaded %v, want %v", got, want)
			}
			ttl, err := c.rdb.PTTL(ctx, profileKey(1, user)).Result()
			must(err)
			if tt.wantTTL != (ttl > 0 && ttl <= tt.ttl) || !tt.wantTTL && ttl != -1 {
				t.Fatalf("TTL %v with cluster.profile_ttl %v", ttl, tt.ttl)
			}
			if !strings.HasPrefix(profileKey(1, user), "parley:profile:1:") {
				t.Fatalf("key %q", profileKey(1, user))
			}
		})
	}
}
