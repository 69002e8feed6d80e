package signaling

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
)

// recordingConn is a socket that keeps every Write it gets.
type recordingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (r *recordingConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

// TestBatchConnGathersWritesIntoOne: the frames written between begin and flush — by the
// writer and by another goroutine (a pong from the reader) — reach the socket in one
// write, each whole and in the order written; outside a batch every write goes through
// at once (D167).
func TestBatchConnGathersWritesIntoOne(t *testing.T) {
	sock := &recordingConn{}
	b := &batchConn{Conn: sock}
	if _, err := b.Write([]byte("alone|")); err != nil {
		t.Fatal(err)
	}
	b.begin()
	var wg sync.WaitGroup
	for _, frame := range []string{"pong-1|", "pong-2|"} {
		wg.Go(func() { _, _ = b.Write([]byte(frame)) })
	}
	for _, frame := range []string{"m1|", "m2|", "m3|"} {
		if _, err := b.Write([]byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if n := len(sock.writes); n != 1 {
		t.Fatalf("%d socket writes before flush, want only the one outside the batch", n)
	}
	if got := b.buffered(); got != len("pong-1|pong-2|m1|m2|m3|") {
		t.Fatalf("buffered %d bytes", got)
	}
	if err := b.flush(); err != nil {
		t.Fatal(err)
	}
	if err := b.flush(); err != nil { // nothing gathered: no write
		t.Fatal(err)
	}
	if _, err := b.Write([]byte("after|")); err != nil {
		t.Fatal(err)
	}
	if len(sock.writes) != 3 {
		t.Fatalf("socket writes %q, want 3 (alone, the batch, after)", sock.writes)
	}
	batch := string(sock.writes[1])
	if !strings.Contains(batch, "m1|m2|m3|") || !strings.Contains(batch, "pong-1|") || !strings.Contains(batch, "pong-2|") ||
		len(batch) != len("pong-1|pong-2|m1|m2|m3|") {
		t.Fatalf("the batch %q lacks a frame, split one or changed the writer's order", batch)
	}
	if string(sock.writes[0]) != "alone|" || string(sock.writes[2]) != "after|" {
		t.Fatalf("socket writes %q", sock.writes)
	}
}
