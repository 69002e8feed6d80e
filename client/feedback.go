package client

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/internal/rxstamp"
	"github.com/parley-rtc/parley/internal/transportcc"
	"github.com/parley-rtc/parley/internal/twccfb"
)

// TWCC feedback with the kernel's arrival times (docs/decisions.md, D116). The feedback
// reports when each packet arrived; the sender's delay-based estimate reads arrival gaps
// that grow as a queue on its link and backs off. Stamped when this process's read
// goroutine gets to a packet (as pion's twcc sender interceptor does), a client whose
// goroutines are starved (a busy machine, a GC pause) reports its own scheduling delay as
// congestion. A PeerConnection with its own socket (ownSocket: Loopback, Linux) reads its
// datagrams with SO_TIMESTAMPNS (internal/rxstamp, as the server's socket does) and
// notes each RTP packet's kernel receive time in an rxstamp.Table; the feedback sender
// and the DownlinkShaper take a packet's arrival from there, and the time of the read
// when the table has none (ICE over TCP or TURN, another OS). The feedback is written by
// the server's writer, internal/twccfb (D153): no allocation per feedback.

// twccFeedbackInterval is how often feedback goes to the sender (pion's default).
const twccFeedbackInterval = 100 * time.Millisecond

// arrival is when RTP packet pkt arrived: its stamp in stamps (nil: none), else now.
func arrival(stamps *rxstamp.Table, pkt []byte, now time.Time) time.Time {
	if stamps == nil || len(pkt) < 12 {
		return now
	}
	ssrc, seq := binary.BigEndian.Uint32(pkt[8:12]), binary.BigEndian.Uint16(pkt[2:4])
	if ns, ok := stamps.Arrival(ssrc, seq, now.UnixNano()); ok {
		return time.Unix(0, ns)
	}
	return now
}

// stampedConn is a PeerConnection's own UDP socket: every datagram read is noted in
// stamps with its arrival time (rxstamp.Read).
type stampedConn struct {
	*net.UDPConn
	kernel bool
	stamps *rxstamp.Table
}

func (c *stampedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, at, err := rxstamp.Read(c.UDPConn, c.kernel, b)
	if err != nil {
		return n, nil, err
	}
	c.stamps.Record(b[:n], at)
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// ownUDPMux opens the PeerConnection's own UDP socket on 127.0.0.1, stamping into stamps
// and, with network, behind the network switch, and installs it as the ICE UDP mux of
// settings. The returned function closes the socket; call it after the PeerConnection
// closed.
func ownUDPMux(settings *webrtc.SettingEngine, network *NetworkSwitch, stamps *rxstamp.Table) (func() error, error) {
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("client: own socket: %w", err)
	}
	var conn net.PacketConn = &stampedConn{UDPConn: udp, kernel: rxstamp.Enable(udp), stamps: stamps}
	if network != nil {
		conn = &switchedConn{PacketConn: conn, network: network}
	}
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: quiet.NewLogger("client-udp"), UDPConn: conn})
	settings.SetICEUDPMux(mux)
	return mux.Close, nil
}

// feedbackFactory makes the TWCC feedback sender of one PeerConnection.
type feedbackFactory struct {
	stamps *rxstamp.Table // nil: packets are stamped when read
}

func (f *feedbackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &feedbackSender{stamps: f.stamps, startNs: time.Now().UnixNano(),
		recorder: twccfb.NewRecorder(rand.Uint32()), done: make(chan struct{})}, nil
}

// feedbackSender records the transport-wide sequence number and arrival of every packet
// received and sends them as TransportLayerCC feedback every twccFeedbackInterval (one
// goroutine, started by BindRTCPWriter, ended by Close). Packets are recorded under mu
// by the goroutines that read them; the feedback goroutine builds each feedback under mu
// into the recorder's buffer, which only it writes, and hands it to pion after unlocking.
type feedbackSender struct {
	interceptor.NoOp
	stamps  *rxstamp.Table
	startNs int64

	mu       sync.Mutex // guards the recorder's arrivals and closed
	recorder *twccfb.Recorder
	closed   bool
	done     chan struct{}
	wg       sync.WaitGroup

	// The feedback goroutine's: hands each feedback to pion's RTCP writer (no rtcp.Packet
	// built per feedback, D157).
	writer twccfb.Writer
}

// BindRTCPWriter starts the feedback goroutine.
func (s *feedbackSender) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.wg.Add(1)
		go s.loop(w)
	}
	return w
}

// BindRemoteStream records each packet of a stream with transport-wide sequence numbers.
func (s *feedbackSender) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	id := transportcc.ExtensionID(info)
	if id == 0 {
		return reader
	}
	ssrc := info.SSRC
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil {
			return n, a, err
		}
		if a == nil {
			a = interceptor.Attributes{}
		}
		h, herr := a.GetRTPHeader(b[:n])
		if herr != nil {
			return n, a, nil
		}
		var ext rtp.TransportCCExtension
		if raw := h.GetExtension(id); raw == nil || ext.Unmarshal(raw) != nil {
			return n, a, nil
		}
		s.record(ssrc, ext.TransportSequence, arrival(s.stamps, b[:n], time.Now()))
		return n, a, nil
	})
}

// record notes that transport-wide number tseq of stream ssrc arrived at at. Any
// goroutine; no allocation.
func (s *feedbackSender) record(ssrc uint32, tseq uint16, at time.Time) {
	s.mu.Lock()
	s.recorder.Record(ssrc, tseq, (at.UnixNano()-s.startNs)/int64(time.Microsecond))
	s.mu.Unlock()
}

func (s *feedbackSender) loop(w interceptor.RTCPWriter) {
	defer s.wg.Done()
	ticker := time.NewTicker(twccFeedbackInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-ticker.C:
		}
		s.send(w)
	}
}

// send writes the feedback gathered since the last one: one RTCP packet of ≤
// twccfb.MaxFeedbackBytes per Write, as many as the arrivals take (bounded by the
// recorder's ring). The lock is not held while pion writes. No allocation (pion's RTCP
// write path copies and encrypts the packet). Feedback goroutine only.
func (s *feedbackSender) send(w interceptor.RTCPWriter) {
	for s.writer.WriteNext(w, &s.mu, s.recorder, nil) {
	}
}

// Close stops the feedback goroutine. Idempotent.
func (s *feedbackSender) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
