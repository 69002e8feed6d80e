package signaling

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// writeBatchBytes is how much the writer gathers from its queue into one socket write at
// most (a message larger than that is written alone).
const writeBatchBytes = 64 << 10

// batchPool holds the gathering buffers: a connection has one only while its writer
// drains the queue, so idle connections hold none.
var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// batchConn is the socket under a connection's websocket.Conn. Between begin and flush
// the frames written to it (by the writer, or a pong from the reader) gather in a buffer
// and go out in one write, so the messages queued for one session while the writer was
// busy cost one system call instead of one each (D167). Outside that it writes through.
// mu keeps every write to the socket whole and in order, the flush included.
type batchConn struct {
	net.Conn

	mu       sync.Mutex
	batching bool
	buf      *[]byte // from batchPool while batching
}

// Write gathers p while batching, or writes it through.
func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		*b.buf = append(*b.buf, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

// begin starts gathering writes.
func (b *batchConn) begin() {
	b.mu.Lock()
	b.batching = true
	b.buf = batchPool.Get().(*[]byte)
	b.mu.Unlock()
}

// buffered is how many bytes gathered since begin.
func (b *batchConn) buffered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.batching {
		return 0
	}
	return len(*b.buf)
}

// flush writes what gathered since begin in one write (under the write deadline last
// set) and stops gathering.
func (b *batchConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.batching {
		return nil
	}
	b.batching = false
	buf := b.buf
	b.buf = nil
	var err error
	if len(*buf) > 0 {
		_, err = b.Conn.Write(*buf)
	}
	if cap(*buf) <= 4*writeBatchBytes {
		*buf = (*buf)[:0]
		batchPool.Put(buf)
	}
	return err
}

// batchHijacker hands the upgrader a batchConn instead of the HTTP server's socket.
type batchHijacker struct {
	http.ResponseWriter
	conn *batchConn
}

func (h *batchHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	nc, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: nc}
	return h.conn, rw, nil
}
