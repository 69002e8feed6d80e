package twccfb

import "github.com/pion/rtcp"

// Packet hands an already-written RTCP packet (the recorder's buffer) to pion's RTCP
// writer: Marshal returns the bytes as they are, so no rtcp.Packet is built per feedback.
// A sender keeps one and passes it, in a one-element []rtcp.Packet it also keeps, to
// each Write (D157): valid only during the Write, as the recorder's next Build reuses
// the buffer.
type Packet struct {
	b    []byte
	ssrc [1]uint32
}

// Set makes p the feedback b (Recorder.Build's) about stream ssrc.
func (p *Packet) Set(b []byte, ssrc uint32) { p.b, p.ssrc[0] = b, ssrc }

var _ rtcp.Packet = (*Packet)(nil)

func (p *Packet) Marshal() ([]byte, error) { return p.b, nil }

func (p *Packet) Unmarshal(b []byte) error { p.b = b; return nil }

func (p *Packet) MarshalSize() int { return len(p.b) }

func (p *Packet) DestinationSSRC() []uint32 { return p.ssrc[:] }
