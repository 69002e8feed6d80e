package signaling

import (
	"time"

	"github.com/gorilla/websocket"
)

// The write side of a Conn: one writer goroutine (writeLoop) owns the socket's writes; it
// sends what is queued on c.out, pings, and the close frame (D167: what is already queued
// leaves in one socket write).

// writeLoop is the connection's writer goroutine, started by serve.
func (c *Conn) writeLoop() {
	ping := time.NewTicker(c.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case m := <-c.out:
			if err := c.writeQueued(m); err != nil {
				c.logger.Debug("write failed", "error", err)
				c.abort(websocket.CloseAbnormalClosure, "")
				c.writeClose()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.WriteTimeout)); err != nil {
				c.logger.Debug("ping failed", "error", err)
				c.abort(websocket.CloseAbnormalClosure, "")
				c.writeClose()
				return
			}
		case <-c.closing:
			c.writeClose()
			return
		}
	}
}

// writeQueued writes m and whatever else the queue holds already (up to writeBatchBytes)
// in one socket write.
func (c *Conn) writeQueued(m outMessage) error {
	c.bc.begin()
	err := c.writeOut(m)
	for err == nil && c.bc.buffered() < writeBatchBytes {
		select {
		case m = <-c.out:
			err = c.writeOut(m)
			continue
		default:
		}
		break
	}
	if ferr := c.bc.flush(); err == nil {
		err = ferr
	}
	return err
}

// writeOut writes one queued message (to the gathering buffer while batching).
func (c *Conn) writeOut(m outMessage) error {
	if m.reply {
		// Answered: count it off before its window slot frees, or the dispatcher and
		// the reader could fill both in between and the count pass
		// MaxPipelinedRequests for a moment.
		c.pending.Add(-1)
		<-c.replies
	}
	return c.write(m.b)
}

func (c *Conn) write(b []byte) error {
	c.mu.Lock()
	if c.closed && !c.flush {
		c.mu.Unlock()
		return ErrConnClosed
	}
	err := c.ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// writeClose flushes the queue when the close is graceful, then sends the close frame.
func (c *Conn) writeClose() {
	c.mu.Lock()
	code, reason, flush := c.closeCode, c.closeReason, c.flush
	c.mu.Unlock()
	if flush {
	drain:
		for {
			select {
			case m := <-c.out:
				if c.write(m.b) != nil {
					break drain
				}
			default:
				break drain
			}
		}
	}
	if code == websocket.CloseAbnormalClosure || code == websocket.CloseNoStatusReceived {
		return // reserved codes are never sent; the peer is gone anyway
	}
	wait := c.cfg.WriteTimeout
	if !flush && wait > abortCloseWait {
		wait = abortCloseWait // the peer is gone or not reading: do not wait on it
	}
	msg := websocket.FormatCloseMessage(code, reason)
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(wait))
}
