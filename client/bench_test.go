package client

import (
	"context"
	"testing"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// BenchmarkRequest measures one request/response round trip over a loopback WebSocket
// (fake server answering at once).
func BenchmarkRequest(b *testing.B) {
	fs := newFakeServer(b, func(fc *fakeConn, req protocol.Request) {
		fc.respond(req, protocol.CallStartResult{CallID: "c1", RoomID: protocol.IntRoom(5)})
	})
	c, err := Dial(context.Background(), fs.URL(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Call(ctx, "bob", protocol.MediaTypeVideo, protocol.CallParams{}); err != nil {
			b.Fatal(err)
		}
	}
}
