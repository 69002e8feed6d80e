package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// keyPresence + SDKAppID + ":" + userId is a hash of the user's logged-in WebSockets
// (D100): field = connection id, value = JSON Presence without Conn. Its TTL is NodeTTL,
// renewed by the heartbeat of every node that holds one of its fields; a field whose node
// is not alive is ignored and deleted by readers.
const keyPresence = "parley:presence:"

func presenceKey(app int, userID string) string { return userKey(keyPresence, app, userID) }

// userKey is the key of a user's hash under prefix: prefix, SDKAppID, ":", userId.
func userKey(prefix string, app int, userID string) string {
	return prefix + strconv.Itoa(app) + ":" + userID
}

// Presence is one logged-in WebSocket of a user.
type Presence struct {
	Conn  string    `json:"conn,omitempty"` // the connection's id (the hash field)
	Node  string    `json:"node"`           // the node that holds the client's WebSocket
	Owner string    `json:"owner"`          // the node that runs its session (the app's owner, D50)
	Since time.Time `json:"since"`          // when its login succeeded
	Boot  string    `json:"boot"`           // the process of Node that wrote it (Node.Boot)
}

// presenceTable is what this node holds in the presence hashes: one field per logged-in
// WebSocket it holds (so bounded by its connections). Writes to Redis are serialized by
// flush, and each writes the table's state at that moment, so the last write of a field
// is the table's state: a removal racing a heartbeat never brings a field back.
type presenceTable struct {
	boot  string     // this process's Node.Boot
	flush sync.Mutex // held while writing to Redis

	mu      sync.Mutex                   // guards the maps
	held    map[string]map[string]string // key → field → value
	dirty   map[string]bool              // keys changed since their last write
	removed map[string]map[string]bool   // key → fields to delete at the next write
}

// SetPresence records that this node holds WebSocket conn of (app, userID), whose session
// runs on node owner, and writes it to Redis (bounded by ctx) unless the last heartbeat
// failed: then the heartbeat writes it once Redis answers. A failed write wraps
// ErrUnavailable; the entry stays recorded and the next heartbeat writes it.
func (c *Cluster) SetPresence(ctx context.Context, app int, userID, conn, owner string, since time.Time) error {
	b, err := json.Marshal(Presence{Node: c.ID(), Owner: owner, Since: since, Boot: c.presence.boot})
	if err != nil {
		return err
	}
	key := presenceKey(app, userID)
	p := &c.presence
	p.mu.Lock()
	if p.held == nil {
		p.held, p.dirty, p.removed = make(map[string]map[string]string), make(map[string]bool), make(map[string]map[string]bool)
	}
	if p.held[key] == nil {
		p.held[key] = make(map[string]string, 1)
	}
	p.held[key][conn] = string(b)
	delete(p.removed[key], conn)
	p.dirty[key] = true
	p.mu.Unlock()
	return c.flushPresence(ctx, false)
}

// ClearPresence removes WebSocket conn of (app, userID) from the presence and from Redis,
// as SetPresence writes.
func (c *Cluster) ClearPresence(ctx context.Context, app int, userID, conn string) error {
	key := presenceKey(app, userID)
	p := &c.presence
	p.mu.Lock()
	if _, ok := p.held[key][conn]; !ok {
		p.mu.Unlock()
		return nil
	}
	delete(p.held[key], conn)
	if len(p.held[key]) == 0 {
		delete(p.held, key)
	}
	if p.removed[key] == nil {
		p.removed[key] = make(map[string]bool, 1)
	}
	p.removed[key][conn] = true
	p.dirty[key] = true
	p.mu.Unlock()
	return c.flushPresence(ctx, false)
}

// PresenceHeld is the number of logged-in WebSockets this node holds.
func (c *Cluster) PresenceHeld() int {
	p := &c.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, fields := range p.held {
		n += len(fields)
	}
	return n
}

// Presence reads where (app, userID) is connected: its WebSockets on live nodes, oldest
// login first. Fields of nodes that are not alive are deleted. A failure wraps
// ErrUnavailable.
func (c *Cluster) Presence(ctx context.Context, app int, userID string) ([]Presence, error) {
	key := presenceKey(app, userID)
	all, err := c.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("presence of %s: %w: %w", key, ErrUnavailable, err)
	}
	out := make([]Presence, 0, len(all))
	var stale []string
	var registered map[string]Node // read from Redis when the last heartbeat's view disagrees
	for field, v := range all {
		var p Presence
		if json.Unmarshal([]byte(v), &p) != nil {
			stale = append(stale, field)
			continue
		}
		n, ok := c.Node(p.Node)
		if (!ok || n.Boot != p.Boot) && registered == nil {
			if registered, err = c.readNodes(ctx); err != nil {
				return nil, fmt.Errorf("presence of %s: %w", key, err)
			}
		}
		if !ok || n.Boot != p.Boot {
			n, ok = registered[p.Node]
		}
		if !ok || n.Boot != p.Boot {
			stale = append(stale, field) // its node died (and maybe started again since)
			continue
		}
		p.Conn = field
		out = append(out, p)
	}
	if len(stale) > 0 {
		_ = c.rdb.HDel(ctx, key, stale...).Err()
	}
	slices.SortFunc(out, func(a, b Presence) int {
		if d := a.Since.Compare(b.Since); d != 0 {
			return d
		}
		return cmpString(a.Conn, b.Conn)
	})
	return out, nil
}

// flushPresence writes the changed presence keys (all of this node's keys when all is
// set: the heartbeat, which also renews their TTL and restores them after a Redis
// restart). Without all it does nothing while the last heartbeat failed.
func (c *Cluster) flushPresence(ctx context.Context, all bool) error {
	if !all {
		c.mu.Lock()
		failing := c.failing
		c.mu.Unlock()
		if failing {
			return fmt.Errorf("presence: %w (written at the next heartbeat that reaches it)", ErrUnavailable)
		}
	}
	p := &c.presence
	p.flush.Lock()
	defer p.flush.Unlock()
	p.mu.Lock()
	keys := make([]string, 0, len(p.dirty))
	for key := range p.dirty {
		keys = append(keys, key)
	}
	if all {
		for key := range p.held {
			if !p.dirty[key] {
				keys = append(keys, key)
			}
		}
	}
	type write struct {
		key   string
		set   map[string]string
		unset []string
	}
	writes := make([]write, 0, len(keys))
	for _, key := range keys {
		writes = append(writes, write{key: key, set: maps.Clone(p.held[key]), unset: slices.Collect(maps.Keys(p.removed[key]))})
		delete(p.dirty, key)
		delete(p.removed, key)
	}
	p.mu.Unlock()
	if len(writes) == 0 {
		return nil
	}
	pipe := c.rdb.Pipeline()
	for _, w := range writes {
		if len(w.unset) > 0 {
			pipe.HDel(ctx, w.key, w.unset...)
		}
		if len(w.set) > 0 {
			pipe.HSet(ctx, w.key, w.set)
			pipe.PExpire(ctx, w.key, c.cfg.NodeTTL)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		// Written again at the next flush; a removal only if the field was not set again.
		p.mu.Lock()
		for _, w := range writes {
			p.dirty[w.key] = true
			for _, f := range w.unset {
				if _, set := p.held[w.key][f]; !set {
					if p.removed[w.key] == nil {
						p.removed[w.key] = make(map[string]bool, len(w.unset))
					}
					p.removed[w.key][f] = true
				}
			}
		}
		p.mu.Unlock()
		return fmt.Errorf("presence: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// dropPresence deletes this node's fields from Redis and forgets them (Close).
func (c *Cluster) dropPresence(ctx context.Context) {
	p := &c.presence
	p.mu.Lock()
	for key, fields := range p.held {
		if p.removed[key] == nil {
			p.removed[key] = make(map[string]bool, len(fields))
		}
		for f := range fields {
			p.removed[key][f] = true
		}
		p.dirty[key] = true
	}
	clear(p.held)
	p.mu.Unlock()
	_ = c.flushPresence(ctx, true)
}
