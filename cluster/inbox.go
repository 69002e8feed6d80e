package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNodeGone is returned by Send to a node that is not alive.
var ErrNodeGone = errors.New("cluster: node not alive")

// Message is one message between nodes (D52). Kind says what it is to the layer that
// sends it, Conn names what it concerns there (a relayed connection), Body is its data.
// From is set by Send.
type Message struct {
	Kind string
	From string
	Conn string
	Body []byte
}

// Send appends m to node to's inbox stream. The messages one goroutine sends to one node
// arrive in the order it sent them: each XADD is answered before the next is written.
func (c *Cluster) Send(ctx context.Context, to string, m Message) error {
	if _, ok := c.liveNode(ctx, to); !ok {
		return fmt.Errorf("send %s to %s: %w", m.Kind, to, ErrNodeGone)
	}
	pipe := c.rdb.Pipeline()
	pipe.XAdd(ctx, &redis.XAddArgs{
		Stream: keyInbox + to, MaxLen: inboxMaxLen, Approx: true,
		Values: []any{"k", m.Kind, "f", c.ID(), "c", m.Conn, "b", m.Body},
	})
	// An inbox whose node closed meanwhile goes away on its own.
	pipe.PExpire(ctx, keyInbox+to, inboxTTLTimes*c.cfg.NodeTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("send %s to %s: %w: %w", m.Kind, to, ErrUnavailable, err)
	}
	return nil
}

// readInbox hands the inbox's entries to the handler in stream order until ctx ends,
// trimming what it read. A Redis failure is retried each Heartbeat; the entries added
// meanwhile are read when Redis answers again.
func (c *Cluster) readInbox(ctx context.Context) {
	defer c.wg.Done()
	key, last := keyInbox+c.ID(), "0"
	for ctx.Err() == nil {
		res, err := c.rdb.XRead(ctx, &redis.XReadArgs{
			Streams: []string{key, last}, Count: 256, Block: c.cfg.Heartbeat,
		}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			if ctx.Err() == nil {
				c.log.Debug("read inbox", "error", err)
				sleep(ctx, c.cfg.Heartbeat)
			}
			continue
		}
		for _, s := range res {
			for _, e := range s.Messages {
				last = e.ID
				c.handler(Message{Kind: field(e, "k"), From: field(e, "f"), Conn: field(e, "c"), Body: []byte(field(e, "b"))})
			}
		}
		_ = c.rdb.XTrimMinID(ctx, key, last).Err() // entries before last were handled
	}
}

func field(e redis.XMessage, k string) string {
	s, _ := e.Values[k].(string)
	return s
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
