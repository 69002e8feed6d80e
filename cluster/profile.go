package cluster

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// keyProfile + SDKAppID + ":" + userId is a hash of one user's profile fields (what
// package signaling stores of a user beyond its sessions, its D54). Its TTL is
// Config.ProfileTTL, renewed by every LoadProfile and SaveProfile.
const keyProfile = "parley:profile:"

func profileKey(app int, userID string) string { return userKey(keyProfile, app, userID) }

// LoadProfile returns the profile fields stored for (app, userID) — an empty map when
// there are none — and renews their TTL. A failure wraps ErrUnavailable.
func (c *Cluster) LoadProfile(ctx context.Context, app int, userID string) (map[string]string, error) {
	key := profileKey(app, userID)
	pipe := c.rdb.Pipeline()
	get := pipe.HGetAll(ctx, key)
	c.renewProfile(ctx, pipe, key)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("load profile %s: %w: %w", key, ErrUnavailable, err)
	}
	return get.Val(), nil
}

// SaveProfile sets the given fields of (app, userID)'s profile (other fields stay) and
// renews its TTL. A failure wraps ErrUnavailable.
func (c *Cluster) SaveProfile(ctx context.Context, app int, userID string, fields map[string]string) error {
	key := profileKey(app, userID)
	pipe := c.rdb.Pipeline()
	pipe.HSet(ctx, key, fields)
	c.renewProfile(ctx, pipe, key)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("save profile %s: %w: %w", key, ErrUnavailable, err)
	}
	return nil
}

// renewProfile queues the TTL of a profile key: ProfileTTL, or none when it is 0.
func (c *Cluster) renewProfile(ctx context.Context, pipe redis.Pipeliner, key string) {
	if c.cfg.ProfileTTL > 0 {
		pipe.PExpire(ctx, key, c.cfg.ProfileTTL)
	} else {
		pipe.Persist(ctx, key)
	}
}
