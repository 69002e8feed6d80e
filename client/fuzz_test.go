package client

import (
	"context"
	"log/slog"
	"testing"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// newSocketlessConn is a Conn without a socket or goroutines, for feeding server messages
// straight into handleMessage.
func newSocketlessConn() *Conn {
	c := &Conn{
		opts:       Options{EventLogSize: 8},
		log:        slog.New(slog.DiscardHandler),
		pending:    make(map[uint64]responseFunc),
		readerDone: make(chan struct{}),
		closing:    make(chan struct{}),
		events:     newEventLog(8),
		handlers:   newHandlerDispatcher(),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.media = newMediaState(c)
	return c
}

// FuzzServerMessage feeds arbitrary server messages through the client's reader path:
// decoding, response matching, the event log, and the media worker's handling of offer
// and trickle notifications (without PeerConnections they are queued for StartMedia).
// Nothing may panic, and a pending request gets at most one response.
func FuzzServerMessage(f *testing.F) {
	seeds := []string{
		`{"jsonrpc":"2.0","id":1,"result":{"callId":"c","roomId":5}}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":3006,"message":"already in a call","data":{"field":"x"}}}`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`,
		`{"jsonrpc":"2.0","id":"1","result":{}}`,
		`{"jsonrpc":"2.0","method":"onCallBegin","params":{"callId":"c","roomId":"r","mediaType":2,"role":1}}`,
		`{"jsonrpc":"2.0","method":"offer","params":{"target":"subscriber","sdp":{"type":"offer","sdp":"v=0"}}}`,
		`{"jsonrpc":"2.0","method":"offer","params":{"target":"publisher","sdp":{"type":"answer","sdp":""}}}`,
		`{"jsonrpc":"2.0","method":"trickle","params":{"target":"subscriber","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}}`,
		`{"jsonrpc":"2.0","method":"trickle","params":{"target":"publisher","candidate":{"candidate":""}}}`,
		`{"jsonrpc":"2.0","method":"trickle","params":{"target":"x","candidate":7}}`,
		`{"jsonrpc":"2.0","method":"offer","params":[1]}`,
		`{"jsonrpc":"2.0","method":"onUserJoin","params":{"userId":"bob","roomId":{"intRoomId":3}}}`,
		`[]`, `null`, `{}`, `{"jsonrpc":"2.0"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newSocketlessConn()
		defer c.cancel()
		calls := 0
		c.pending[1] = func(protocol.Response, error) { calls++ }
		c.handleMessage(data)
		c.handleMessage(data)
		if calls > 1 {
			t.Fatalf("request 1 answered %d times", calls)
		}
		for {
			c.media.mu.Lock()
			if len(c.media.queue) == 0 {
				c.media.mu.Unlock()
				break
			}
			task := c.media.queue[0]
			c.media.queue = c.media.queue[1:]
			c.media.mu.Unlock()
			c.media.process(task)
		}
		for _, ev := range c.Events() {
			var v protocol.CallReceivedEvent
			_ = ev.Decode(&v)
		}
		_, _ = WaitFor[protocol.UserJoinEvent](canceledContext(), c, protocol.EventUserJoin, nil)
	})
}

func canceledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
