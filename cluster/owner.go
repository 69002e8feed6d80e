package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoNode is returned by Owner when no live, non-draining node can take a tenant.
var ErrNoNode = errors.New("cluster: no live node takes new tenants")

// claimScript sets the lease KEYS[1] to ARGV[1] for ARGV[2] ms unless it is held (or
// held by the dead node ARGV[4], which it replaces), adds the app ARGV[3] to the new
// owner's set KEYS[2], and returns the holder.
var claimScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[4] then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return ARGV[1]`)

// renewScript renews for ARGV[3] ms the leases (keys ARGV[2]..app) of node ARGV[1]: of
// the apps in its set KEYS[1] and of the apps ARGV[4..] it held at its last beat. A lease
// that is gone (expired, or Redis restarted empty) is taken again; one another node holds
// is dropped. It returns the apps the node holds now.
var renewScript = redis.NewScript(`
local apps = redis.call('SMEMBERS', KEYS[1])
for i = 4, #ARGV do table.insert(apps, ARGV[i]) end
local held = {}
for _, app in ipairs(apps) do
  local k = ARGV[2] .. app
  local cur = redis.call('GET', k)
  if not cur then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[3])
    cur = ARGV[1]
  end
  if cur == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[3])
    redis.call('SADD', KEYS[1], app)
    table.insert(held, app)
  else
    redis.call('SREM', KEYS[1], app)
  end
end
return held`)

// releaseScript deletes the leases in KEYS[1]'s apps still held by node ARGV[1].
var releaseScript = redis.NewScript(`
for _, app in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[2] .. app
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
redis.call('DEL', KEYS[1])
return 0`)

// Owner is the node that runs tenant app's call machine and rooms (D50). A lease held by
// a live node is kept; otherwise the least loaded live node that is not draining takes
// it, one in this node's region when there is one (D51). The lease lives NodeTTL and the
// owner's heartbeat renews it.
func (c *Cluster) Owner(ctx context.Context, app int) (Node, error) {
	key := keyOwner + strconv.Itoa(app)
	cur, err := c.rdb.Get(ctx, key).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return Node{}, fmt.Errorf("owner of app %d: %w: %w", app, ErrUnavailable, err)
	}
	dead := ""
	if cur != "" {
		if n, ok := c.liveNode(ctx, cur); ok && !n.Draining {
			c.noteHeld(app, n.ID)
			return n, nil
		}
		dead = cur // its registration expired or it drains: the lease is stale
	}
	cand, ok := c.placement(c.cfg.Region, false)
	if !ok {
		return Node{}, fmt.Errorf("owner of app %d: %w", app, ErrNoNode)
	}
	got, err := claimScript.Run(ctx, c.rdb, []string{key, keyOwned + cand.ID},
		cand.ID, c.cfg.NodeTTL.Milliseconds(), app, dead).Text()
	if err != nil {
		return Node{}, fmt.Errorf("owner of app %d: %w: %w", app, ErrUnavailable, err)
	}
	if got == cand.ID {
		c.noteHeld(app, got)
		return cand, nil
	}
	if n, ok := c.liveNode(ctx, got); ok {
		c.noteHeld(app, got)
		return n, nil // another node claimed it first
	}
	return Node{}, fmt.Errorf("owner of app %d: lease held by %s, which is not alive: %w", app, got, ErrNoNode)
}

// noteHeld remembers that this node owns app when owner is this node (its heartbeat then
// keeps the lease, even across a Redis restart).
func (c *Cluster) noteHeld(app int, owner string) {
	if owner != c.ID() {
		return
	}
	c.mu.Lock()
	if !c.draining {
		c.held[strconv.Itoa(app)] = true
	}
	c.mu.Unlock()
}

// liveNode is node id if it is registered now (the last heartbeat's view, else Redis).
func (c *Cluster) liveNode(ctx context.Context, id string) (Node, bool) {
	if n, ok := c.Node(id); ok {
		return n, true
	}
	alive, err := c.readNodes(ctx)
	if err != nil {
		return Node{}, false
	}
	n, ok := alive[id]
	return n, ok
}

// Owns reports whether this node held app's lease at its last heartbeat or took it since.
func (c *Cluster) Owns(app int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held[strconv.Itoa(app)]
}

// PlacesRooms reports whether cluster.room_placement is "load" (or "", the default, D126): each room on the node
// PlaceRoom picks (D95), not on the app's owner.
func (c *Cluster) PlacesRooms() bool { return c.cfg.RoomPlacement != PlacementOwner }

// PlaceRoom picks the media node of a new room (D95): the least loaded live node that is
// not draining, one of region when there is one ("" prefers none), ties to the lower id;
// false when no live node takes work. It reads the last heartbeat's view, plus the rooms
// it placed on each node since that node's registration was read (D158), and counts the
// room it places.
func (c *Cluster) PlaceRoom(region string) (Node, bool) { return c.placement(region, true) }

// placement is the least loaded live node that is not draining, preferring region; ties
// go to the lower id. A node's load is its registered score plus the rooms placed on it
// since (pendingRooms); room counts the placed room there.
func (c *Cluster) placement(region string, room bool) (Node, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best Node
	bestScore := 0.0
	found, bestLocal := false, false
	for _, s := range c.alive {
		n := s.Node
		if n.Draining {
			continue
		}
		local := region != "" && n.Region == region
		score := n.Load.score() + float64(c.pending.count(n.ID))
		lower := score < bestScore || score == bestScore && n.ID < best.ID
		switch {
		case !found, local && !bestLocal, local == bestLocal && lower:
			best, bestScore, found, bestLocal = n, score, true, local
		}
	}
	if found && room {
		c.pending.add(best.ID, time.Now())
	}
	return best, found
}

// releaseLeases gives up every lease this node holds.
func (c *Cluster) releaseLeases(ctx context.Context) error {
	err := releaseScript.Run(ctx, c.rdb, []string{keyOwned + c.ID()}, c.ID(), keyOwner).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("release leases of %s: %w: %w", c.ID(), ErrUnavailable, err)
	}
	return nil
}
