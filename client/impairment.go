package client

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Network impairments for tests, next to the loss simulator (dropper.go): a switch that
// cuts a client's media path, and loss that repair cannot hide.

// LinkSwitch cuts the media path of every PeerConnection configured with it
// (PeerConfig.Link): while cut, every RTP and RTCP packet in either direction is
// discarded right at the network end of the interceptor chain, so neither the remote side
// nor this client's own interceptors see them. ICE and DTLS keep running, so the
// PeerConnections stay connected: the remote side sees a user that is connected but sends
// no media and no RTCP. The zero value is a closed (working) link; safe for concurrent use.
type LinkSwitch struct {
	cutter
}

// cutter is the on/off state of a LinkSwitch or NetworkSwitch.
type cutter struct {
	cut atomic.Bool
}

// SetCut cuts (true) or restores (false) the path.
func (c *cutter) SetCut(cut bool) { c.cut.Store(cut) }

// Cut reports whether the path is cut.
func (c *cutter) Cut() bool { return c.cut.Load() }

func (s *LinkSwitch) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &linkInterceptor{link: s}, nil
}

type linkInterceptor struct {
	interceptor.NoOp
	link *LinkSwitch
}

func (l *linkInterceptor) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		if l.link.Cut() {
			return 0, nil
		}
		return writer.Write(pkts, a)
	})
}

func (l *linkInterceptor) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil || !l.link.Cut() {
				return n, attr, err
			}
		}
	})
}

func (l *linkInterceptor) BindLocalStream(_ *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if l.link.Cut() {
			return len(payload), nil
		}
		return writer.Write(h, payload, a)
	})
}

func (l *linkInterceptor) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil || !l.link.Cut() {
				return n, attr, err
			}
		}
	})
}

// unrepairedLossFactory builds the interceptor of PeerConfig.UnrepairedLoss: it discards
// an evenly spaced fraction of the incoming RTP packets of every stream (audio too),
// chosen by sequence number, after the NACK generator and before the receiver reports.
// The NACK generator never sees the holes, so nothing is retransmitted; the receiver
// reports (and the application) see exactly that loss in every window.
type unrepairedLossFactory struct {
	rate    float64
	dropped atomic.Uint64
}

func (f *unrepairedLossFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &unrepairedLossInterceptor{factory: f}, nil
}

type unrepairedLossInterceptor struct {
	interceptor.NoOp
	factory *unrepairedLossFactory
}

// dropSequence reports whether seq is one of the evenly spaced numbers a loss rate drops:
// the ones where seq*rate crosses an integer (every 20th at 5 %, every 5th at 20 %).
func dropSequence(seq uint16, rate float64) bool {
	return uint64((float64(seq)+1)*rate) != uint64(float64(seq)*rate)
}

func (u *unrepairedLossInterceptor) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	rate := u.factory.rate
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil || n < 4 || !dropSequence(binary.BigEndian.Uint16(b[2:4]), rate) {
				return n, attr, err
			}
			u.factory.dropped.Add(1)
		}
	})
}
