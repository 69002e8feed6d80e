package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable wraps every failure to reach Redis: the node keeps what it runs and
// refuses new cross-node work (D53).
var ErrUnavailable = errors.New("cluster: Redis unavailable")

// Redis keys (docs/architecture.md, "Cluster"; keyProfile in profile.go). Every key starts
// with "parley:".
const (
	keyNodes      = "parley:nodes"  // set of node ids that registered (pruned when their key expired)
	keyNodePrefix = "parley:node:"  // + id: the node's registration (JSON Node), TTL NodeTTL
	keyInbox      = "parley:inbox:" // + id: the node's inbox stream
	keyOwner      = "parley:owner:" // + SDKAppID: id of the node that owns the tenant, TTL NodeTTL
	keyOwned      = "parley:owned:" // + id: set of the SDKAppIDs whose lease the node renews
	inboxMaxLen   = 10000           // entries an inbox keeps when its reader stalls (approximate trim)
	inboxTTLTimes = 10              // an inbox outlives its node's last beat by this many NodeTTLs
)

// Load is a node's current work, reported with every heartbeat.
type Load struct {
	Rooms    int     `json:"rooms"`
	Tracks   int     `json:"tracks"`
	Sessions int     `json:"sessions"`
	CPU      float64 `json:"cpu"` // cores busy in this process since the previous beat
	// Connections is the logged-in WebSockets the node holds (its presence entries, D100);
	// Relayed those of them whose session runs on another node. Reported, not scored.
	Connections int `json:"connections"`
	Relayed     int `json:"relayed"`
}

// score orders nodes for placement: lower is less loaded.
func (l Load) score() float64 { return l.CPU*100 + float64(l.Sessions+l.Tracks+l.Rooms) }

// Node is one live node as its last heartbeat registered it.
type Node struct {
	ID           string    `json:"id"`
	SignalingURL string    `json:"signalingUrl"` // ws:// or wss:// URL of its /ws endpoint
	MediaAddress string    `json:"mediaAddress"` // where its media (ICE) is reachable
	Region       string    `json:"region"`
	Draining     bool      `json:"draining"`
	Load         Load      `json:"load"`
	BeatAt       time.Time `json:"beatAt"`
	// Boot is random per process: presence entries of an earlier process of the same
	// node id do not count (presence.go).
	Boot string `json:"boot"`
}

// Self is what this node registers besides its config: its addresses and a load probe
// (called on the heartbeat goroutine; nil reports zero load).
type Self struct {
	SignalingURL string
	MediaAddress string
	Load         func() Load
}

// quietRedisLog routes go-redis's own log (one line per failed dial, process-wide) to
// slog at debug level once; the heartbeat reports an outage once instead.
var quietRedisLog sync.Once

type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.Default().DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// seen is a node and when its registration was last read.
type seen struct {
	Node
	at time.Time
}

// Cluster is this node's membership of the cluster.
type Cluster struct {
	cfg     Config
	self    Self
	rdb     *redis.Client
	log     *slog.Logger
	handler func(Message)

	mu       sync.Mutex
	draining bool
	alive    map[string]seen // nodes seen registered within NodeTTL, this one included
	held     map[string]bool // SDKAppIDs whose lease this node holds (renewed and restored by beat)
	pending  pendingRooms    // rooms PlaceRoom put on each node since its registration was read (D158)
	gone     []func(id string)
	lastBeat time.Time // last heartbeat that reached Redis
	failing  bool      // the last heartbeat failed
	started  bool
	closed   bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	presence presenceTable // the logged-in WebSockets this node holds (presence.go)
}

// New checks cfg (which must be Enabled) and builds the Redis client; it starts nothing
// and dials nothing. handler gets the inbox's messages (Start), one at a time, in order.
func New(cfg Config, self Self, handler func(Message), logger *slog.Logger) (*Cluster, error) {
	if !cfg.Enabled() {
		return nil, errors.New("cluster.redis_url: empty (a single node needs no Cluster)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("cluster.redis_url: %w", err)
	}
	if cfg.NodeID == "" {
		cfg.NodeID = newNodeID()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if self.Load == nil {
		self.Load = func() Load { return Load{} }
	}
	if handler == nil {
		handler = func(Message) {}
	}
	opts.DialTimeout = cfg.Heartbeat
	opts.DialerRetries = 1 // a heartbeat retries anyway; a refused dial fails at once
	quietRedisLog.Do(func() { redis.SetLogger(redisLogger{}) })
	return &Cluster{
		cfg: cfg, self: self, rdb: redis.NewClient(opts), handler: handler,
		log: logger.With("node", cfg.NodeID), alive: make(map[string]seen), held: make(map[string]bool),
		presence: presenceTable{boot: newNodeID()[2:]}, pending: pendingRooms{width: cfg.Heartbeat / 4},
	}, nil
}

// Advertise sets the addresses the node registers (known once its listeners are bound).
// Call it before Start.
func (c *Cluster) Advertise(signalingURL, mediaAddress string) {
	c.self.SignalingURL, c.self.MediaAddress = signalingURL, mediaAddress
}

// ID is this node's id (configured or generated).
func (c *Cluster) ID() string { return c.cfg.NodeID }

// Region is this node's region label.
func (c *Cluster) Region() string { return c.cfg.Region }

// OnNodeGone registers fn to run (on the heartbeat goroutine) with the id of each node
// that has not been registered for NodeTTL (it stopped heart-beating or closed). A node
// missing only because Redis restarted empty re-registers within a heartbeat and is not
// declared gone. Call it before Start.
func (c *Cluster) OnNodeGone(fn func(id string)) {
	c.mu.Lock()
	c.gone = append(c.gone, fn)
	c.mu.Unlock()
}

// Start registers the node (an error if Redis cannot be reached) and starts the heartbeat
// and the inbox reader. The inbox starts empty: what was sent to an earlier node of the
// same id is dropped.
func (c *Cluster) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.started || c.closed {
		c.mu.Unlock()
		return errors.New("cluster: Start after Start or Close")
	}
	c.started = true
	c.mu.Unlock()
	if err := c.rdb.Del(ctx, keyInbox+c.ID()).Err(); err != nil {
		return fmt.Errorf("register node %s: %w: %w", c.ID(), ErrUnavailable, err)
	}
	if err := c.beat(ctx); err != nil {
		return fmt.Errorf("register node %s: %w", c.ID(), err)
	}
	run, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()
	c.wg.Add(2)
	go c.heartbeat(run)
	go c.readInbox(run)
	return nil
}

// Close stops the goroutines, removes the node's registration and gives up its leases
// (the other nodes see it gone at once), then closes the Redis client. Idempotent.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.wg.Wait()
	ctx, done := context.WithTimeout(context.Background(), c.cfg.Heartbeat)
	defer done()
	_ = c.releaseLeases(ctx)
	c.dropPresence(ctx)
	pipe := c.rdb.Pipeline()
	pipe.Del(ctx, keyNodePrefix+c.ID(), keyInbox+c.ID())
	pipe.SRem(ctx, keyNodes, c.ID())
	_, _ = pipe.Exec(ctx)
	return c.rdb.Close()
}

// SetDraining marks the node draining (it registers so at the next beat and is no longer
// chosen for new tenants) and gives up its leases, so new logins go to other nodes.
func (c *Cluster) SetDraining(ctx context.Context) error {
	c.mu.Lock()
	c.draining = true
	clear(c.held)
	c.mu.Unlock()
	return c.releaseLeases(ctx)
}

// Ready reports nil when Redis answers and the last heartbeat reached it within NodeTTL.
func (c *Cluster) Ready(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	c.mu.Lock()
	last := c.lastBeat
	c.mu.Unlock()
	if time.Since(last) > c.cfg.NodeTTL {
		return fmt.Errorf("%w: no heartbeat since %s", ErrUnavailable, last.Format(time.RFC3339))
	}
	return nil
}

// Stats is what the node's metrics show of the cluster.
type Stats struct {
	Nodes     int  // live nodes, this one included
	AppsOwned int  // apps whose lease this node holds
	RedisUp   bool // the last heartbeat reached Redis within NodeTTL
}

// Stats reads the last heartbeat's view (no Redis round trip).
func (c *Cluster) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Nodes: len(c.alive), AppsOwned: len(c.held), RedisUp: !c.failing && time.Since(c.lastBeat) <= c.cfg.NodeTTL}
}

// Nodes is the live nodes (registered within NodeTTL as of the last heartbeat), by id.
func (c *Cluster) Nodes() []Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Node, 0, len(c.alive))
	for _, n := range c.alive {
		out = append(out, n.Node)
	}
	slices.SortFunc(out, func(a, b Node) int { return cmpString(a.ID, b.ID) })
	return out
}

// Node is the live node id as of the last heartbeat.
func (c *Cluster) Node(id string) (Node, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.alive[id]
	return n.Node, ok
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// heartbeat beats every Heartbeat until ctx ends.
func (c *Cluster) heartbeat(ctx context.Context) {
	defer c.wg.Done()
	tick := time.NewTicker(c.cfg.Heartbeat)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		bctx, cancel := context.WithTimeout(ctx, c.cfg.Heartbeat)
		err := c.beat(bctx)
		cancel()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			c.log.Warn("cluster heartbeat failed; existing calls keep running, new cross-node work is refused", "error", err)
			failing = true
		case err == nil && failing:
			c.log.Info("cluster heartbeat reaches Redis again")
			failing = false
		}
	}
}

// beat registers the node with its load, renews its leases and refreshes the live nodes.
func (c *Cluster) beat(ctx context.Context) error {
	c.mu.Lock()
	draining := c.draining
	c.mu.Unlock()
	now := time.Now()
	me := Node{
		ID: c.ID(), SignalingURL: c.self.SignalingURL, MediaAddress: c.self.MediaAddress,
		Region: c.cfg.Region, Draining: draining, Load: c.self.Load(), BeatAt: now, Boot: c.presence.boot,
	}
	b, err := json.Marshal(me)
	if err != nil {
		return err
	}
	ttl := c.cfg.NodeTTL
	c.mu.Lock()
	args := []any{c.ID(), keyOwner, ttl.Milliseconds()}
	for app := range c.held {
		args = append(args, app)
	}
	c.mu.Unlock()
	pipe := c.rdb.Pipeline()
	var renew *redis.Cmd
	if draining { // gives up what a beat in flight at SetDraining may have renewed
		releaseScript.Eval(ctx, pipe, []string{keyOwned + c.ID()}, c.ID(), keyOwner)
	} else {
		renew = renewScript.Eval(ctx, pipe, []string{keyOwned + c.ID()}, args...)
	}
	pipe.Set(ctx, keyNodePrefix+c.ID(), b, ttl) // after the release: seen draining = leases gone
	pipe.SAdd(ctx, keyNodes, c.ID())
	pipe.PExpire(ctx, keyInbox+c.ID(), inboxTTLTimes*ttl)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		c.markFailing()
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var held []string
	if renew != nil {
		held, _ = renew.StringSlice()
	}
	registered, err := c.readNodes(ctx)
	if err != nil {
		c.markFailing()
		return err
	}
	c.mu.Lock()
	if c.failing {
		// Back after an outage (Redis may have restarted empty): every node registered at
		// the last beat before it gets NodeTTL from now to register again before it counts
		// as gone. A node already missing then is not: the outage does not explain its
		// absence, and short outages (a beat that took longer than Heartbeat on a loaded
		// machine) must not keep a dead node alive.
		for id, n := range c.alive {
			if !n.at.Before(c.lastBeat) {
				n.at = now
				c.alive[id] = n
			}
		}
		c.failing = false
	}
	for id, n := range registered {
		c.alive[id] = seen{Node: n, at: now}
	}
	var gone []string
	for id, n := range c.alive {
		if now.Sub(n.at) > ttl {
			gone = append(gone, id)
			delete(c.alive, id)
		}
	}
	c.pending.reconcile(c.alive)
	if !draining {
		c.held = make(map[string]bool, len(held))
		for _, app := range held {
			c.held[app] = true
		}
	}
	c.lastBeat = now
	fns := slices.Clone(c.gone)
	c.mu.Unlock()
	if err := c.flushPresence(ctx, true); err != nil {
		c.log.Debug("presence not renewed", "error", err)
	}
	slices.Sort(gone)
	for _, id := range gone {
		c.log.Info("cluster node gone", "gone", id)
		for _, fn := range fns {
			fn(id)
		}
	}
	return nil
}

// markFailing notes a heartbeat that did not reach Redis.
func (c *Cluster) markFailing() {
	c.mu.Lock()
	c.failing = true
	c.mu.Unlock()
}

// readNodes reads every registered node; ids whose registration expired leave the set.
func (c *Cluster) readNodes(ctx context.Context) (map[string]Node, error) {
	ids, err := c.rdb.SMembers(ctx, keyNodes).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	alive := make(map[string]Node, len(ids))
	if len(ids) == 0 {
		return alive, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = keyNodePrefix + id
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var expired []any
	for i, v := range vals {
		s, ok := v.(string)
		var n Node
		if !ok || json.Unmarshal([]byte(s), &n) != nil || n.ID != ids[i] {
			expired = append(expired, ids[i])
			continue
		}
		alive[n.ID] = n
	}
	if len(expired) > 0 {
		_ = c.rdb.SRem(ctx, keyNodes, expired...).Err()
	}
	return alive, nil
}
