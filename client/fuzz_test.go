package client

import (
	"context"
	"errors"
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

// FuzzParseIVF: any bytes either fail with ErrMediaFile or give a playable video: frames
// with data, the first a keyframe, times not going back, a positive loop period.
func FuzzParseIVF(f *testing.F) {
	f.Add(SampleIVF(64, 48, 3, 30, 20))
	f.Add(SampleIVF(64, 48, 1, 1, 10)[:40])
	f.Add([]byte("DKIF\x00\x00\x20\x00VP80"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseIVF(data)
		if err != nil {
			if !errors.Is(err, ErrMediaFile) {
				t.Fatalf("error without ErrMediaFile: %v", err)
			}
			return
		}
		if len(v.frames) == 0 || !v.frames[0].keyframe || v.period <= 0 {
			t.Fatalf("%d frames, period %d", len(v.frames), v.period)
		}
		for i, fr := range v.frames {
			if len(fr.data) < vp8InterHeader || (i > 0 && fr.ticks < v.frames[i-1].ticks) || fr.ticks >= v.period {
				t.Fatalf("frame %d: %d bytes at %d (period %d)", i, len(fr.data), fr.ticks, v.period)
			}
		}
	})
}

// FuzzParseOgg: any bytes either fail with ErrMediaFile or give Opus packets that fit an
// RTP payload, at increasing times within the loop period.
func FuzzParseOgg(f *testing.F) {
	sample, err := SampleOgg(3, 20)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add(sample[:len(sample)-5])
	f.Add([]byte("OggS"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseOgg(data)
		if err != nil {
			if !errors.Is(err, ErrMediaFile) {
				t.Fatalf("error without ErrMediaFile: %v", err)
			}
			return
		}
		if len(a.packets) == 0 || a.period <= 0 {
			t.Fatalf("%d packets, period %d", len(a.packets), a.period)
		}
		for i, p := range a.packets {
			if len(p.data) == 0 || len(p.data) > MaxPayloadSize || (i > 0 && p.ticks <= a.packets[i-1].ticks) || p.ticks >= a.period {
				t.Fatalf("packet %d: %d bytes at %d (period %d)", i, len(p.data), p.ticks, a.period)
			}
		}
	})
}
