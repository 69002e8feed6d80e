package sfu

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/parley-rtc/parley/internal/transportcc"
)

// twccNumbering writes the transport-wide sequence number (transport-wide-cc header
// extension) into every packet a PeerConnection sends, one counter per PeerConnection,
// as pion's twcc.HeaderExtensionInterceptor does, but into a 2-byte buffer of the stream
// instead of a new one per packet. The header keeps a reference to that buffer only
// during the Write (the interceptors below and SRTP read it synchronously; the Sender
// resets the extensions before its next packet), and a local stream is written by one
// goroutine only (its subscriber Peer's Sender). With a sendHistory (a subscriber's
// PeerConnection) it also records each numbered packet's size and send time there for the
// Peer's congestion controller (congestion.go).
type twccNumbering struct {
	interceptor.NoOp
	next    *atomic.Uint32 // the PeerConnection's counter (a subscriber's own RTP path shares it, rtpout.go)
	history *sendHistory   // nil: numbering only
}

// twccNumberingFactory makes one twccNumbering per PeerConnection (interceptor.Factory).
// The Engine's registry has one without history; a subscriber Peer's API has one with
// the Peer's history (Engine.subscriberAPI).
// A subscriber's factory also has the counter its own RTP path numbers with (rtpout.go).
type twccNumberingFactory struct {
	history *sendHistory
	next    *atomic.Uint32 // nil: a new counter per PeerConnection
}

func (f twccNumberingFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	next := f.next
	if next == nil {
		next = new(atomic.Uint32)
	}
	return &twccNumbering{history: f.history, next: next}, nil
}

// BindLocalStream numbers the stream's packets when it negotiated transport-wide-cc.
func (t *twccNumbering) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	id := transportcc.ExtensionID(info)
	if id == 0 {
		return w
	}
	var value [2]byte
	history := t.history
	if history != nil {
		history.allocate() // at negotiation, never on the packet path
		history.extID.Store(uint32(id))
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if err := numberPacket(t.next, id, &value, h, len(payload), history); err != nil {
			return 0, err
		}
		return w.Write(h, payload, a)
	})
}

// numberPacket gives h the PeerConnection's next transport-wide sequence number (next)
// in extension id, written into value (the caller's scratch, which h then references),
// and notes the packet's size and send time in history (nil: numbering only). Both
// write paths number this way: pion's (the interceptor above) and a subscriber's own
// (rtpout.go), with the same counter. No allocation.
func numberPacket(next *atomic.Uint32, id uint8, value *[2]byte, h *rtp.Header, payloadLen int, history *sendHistory) error {
	seq := uint16(next.Add(1) - 1)
	binary.BigEndian.PutUint16(value[:], seq)
	if err := h.SetExtension(id, value[:]); err != nil {
		return fmt.Errorf("transport-wide sequence number: %w", err)
	}
	if history != nil {
		history.record(seq, h.MarshalSize()+payloadLen, history.clock())
	}
	return nil
}
