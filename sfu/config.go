package sfu

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"
)

// Bounds of the tunable values; Validate enforces them and names the key it rejects.
const (
	minPLIThrottle     = 100 * time.Millisecond
	maxPLIThrottle     = 10 * time.Second
	minSenderQueueSize = 16
	maxSenderQueueSize = 16384
	minBufferPackets   = 16
	minICETimeout      = 100 * time.Millisecond
	maxICETimeout      = 10 * time.Minute
	maxBufferPackets   = 32768 // a power of two below 2^16, so slot = seq % size never aliases within a window
	maxCandidatesLimit = 4096
	defaultSendBatch   = 16 // 16 sealed datagrams of ≤ 1628 bytes: 26 KB per subscriber on the own path
	maxSendBatch       = 64
	maxWriters         = 64
	maxReaderTurns     = 1024
	defaultReaderTurns = 64
)

// Config is the media plane's configuration, embedded under the key `rtc` in the root
// configuration.
type Config struct {
	// UDPPort is the single UDP port every PeerConnection shares (ICE UDP mux). 0 picks an
	// ephemeral port (tests).
	UDPPort int `mapstructure:"udp_port"`
	// TCPPort is the TCP port on which every PeerConnection also accepts ICE over TCP
	// (passive candidates, ICE TCP mux), for clients whose UDP is blocked. 0 follows
	// udp_port (the same number; any free port when udp_port is 0), -1 disables ICE-TCP.
	TCPPort int `mapstructure:"tcp_port"`
	// BindAddress is the local IP the UDP socket binds to.
	BindAddress string `mapstructure:"bind_address"`
	// NodeIP is the IP advertised in host candidates. When it is a loopback address,
	// loopback candidates are enabled (local development and tests).
	NodeIP string `mapstructure:"node_ip"`
	// NAT1To1IPs are the public IPs of a deployment behind a 1:1 NAT; they replace the
	// host candidate address. When empty and NodeIP differs from BindAddress, NodeIP is used.
	NAT1To1IPs []string `mapstructure:"nat_1to1_ips"`
	// PLIThrottle is the minimum interval between two keyframe requests sent to a
	// publisher for one track (100ms..10s).
	PLIThrottle time.Duration `mapstructure:"pli_throttle"`
	// SenderQueueSize is the number of packets a subscriber's Sender queues before it drops
	// (16..16384).
	SenderQueueSize int `mapstructure:"sender_queue_size"`
	// VideoBufferPackets is the number of packets a video Receiver keeps for NACK answers
	// (a power of two, 16..32768).
	VideoBufferPackets int `mapstructure:"video_buffer_packets"`
	// AudioBufferPackets is the same for audio (a power of two, 16..32768).
	AudioBufferPackets int `mapstructure:"audio_buffer_packets"`
	// ICEDisconnectedTimeout is how long a PeerConnection hears nothing from its client
	// before its ICE state turns disconnected; ICEFailedTimeout is how much longer before
	// it turns failed (then a subscriber restarts ICE, see room). ICEKeepaliveInterval is
	// how often an idle connection sends an ICE keepalive; it must be shorter than
	// ICEDisconnectedTimeout. Each 100ms..10m.
	ICEDisconnectedTimeout time.Duration `mapstructure:"ice_disconnected_timeout"`
	ICEFailedTimeout       time.Duration `mapstructure:"ice_failed_timeout"`
	ICEKeepaliveInterval   time.Duration `mapstructure:"ice_keepalive_interval"`
	// MaxPendingCandidates bounds the remote ICE candidates one PeerConnection queues
	// before its remote description is set (1..4096, at most max_remote_candidates); more
	// are refused with ErrTooManyCandidates.
	MaxPendingCandidates int `mapstructure:"max_pending_candidates"`
	// MaxRemoteCandidates bounds the remote ICE candidates one PeerConnection takes per
	// ICE generation: those trickled since the generation began (queued ones included)
	// plus those in its latest remote description (1..4096). A trickled candidate beyond
	// it, or a description carrying more, is refused with ErrTooManyCandidates. An ICE
	// restart (a description with new credentials) starts a new count.
	MaxRemoteCandidates int `mapstructure:"max_remote_candidates"`
	// DenyCandidateCIDRs are the address prefixes (CIDR, or a single IP) remote
	// candidates must not point the ICE agent at: a trickled one is refused with
	// ErrCandidateDenied, one in an offer or answer is removed from it.
	DenyCandidateCIDRs []string `mapstructure:"deny_candidate_cidrs"`
	// BatchWrites queues the datagrams written to the UDP socket per destination and
	// writes several per syscall (sendmmsg): a subscriber's packets when its Sender has
	// written what it had queued, anything else at most about 1 ms late (batchwrite.go,
	// runs to one destination coalesced with UDP GSO, send times taken at the write;
	// decisions D58, D140–D142). Off by default: each datagram is written with its own
	// syscall.
	BatchWrites bool `mapstructure:"batch_writes"`
	// OwnSRTP lets a subscriber's RTP and sender reports be sealed and sent by Parley
	// with the keys of pion's DTLS handshake (rtpout.go, decisions D235, D250), on a
	// UDP pair and, after a UDP start, on an ICE-TCP pair. Off: pion's SRTP session
	// and ICE connection carry them for every subscriber, as before D235.
	OwnSRTP bool `mapstructure:"own_srtp"`
	// SendBatch is how many of a subscriber's packets its writer, on the own path over
	// UDP, seals into one batch and writes with one sendmmsg when its run has that many
	// ready (rtpoutbatch.go, decision D260); a run of one is one plain write, and nothing
	// waits for more packets. 1: one write per packet. 1..64; unused with batch_writes,
	// whose queues take the own path's datagrams instead.
	SendBatch int `mapstructure:"send_batch"`
	// OwnSRTPInbound lets a publisher's RTP be decrypted and forwarded by the UDP
	// socket's read goroutine with Parley's own SRTP context (rtpin.go, decision D255)
	// instead of pion's SRTP session and the track's goroutine, and a subscriber's SRTCP
	// decrypted there and queued for its RTCP goroutine (rtcpin.go, D325). Publishers' PeerConnections
	// then answer as the DTLS server (as subscribers' do) and refuse a first offer with
	// setup:passive (ErrPassiveOffer). On by default (D306).
	OwnSRTPInbound bool `mapstructure:"own_srtp_inbound"`
	// Writers is how many writer goroutines of the Engine write for the subscribers on
	// own_srtp (writerpool.go, decision D290), each subscriber's packets always by the
	// same one, the UDP datagrams of several subscribers in one sendmmsg; a subscriber on
	// pion's path or an ICE-TCP pair gets a goroutine of its own. 0: a goroutine per
	// subscriber. 0..maxWriters; the default is defaultWriters (D306).
	Writers int `mapstructure:"writers"`
	// ReaderTurns, with own_srtp_inbound and writers: when the UDP socket's read goroutine
	// finds no datagram waiting after it forwarded some, it writes for the pool writers it
	// made ready (at most this many turns of writerTurn packets) instead of waking them
	// (readerwrites.go, decision D300); a busy reader wakes them as before. 0: always wake.
	// 0..maxReaderTurns.
	ReaderTurns int `mapstructure:"reader_turns"`
}

// DefaultConfig returns the configuration of a working local server.
func DefaultConfig() Config {
	return Config{
		UDPPort:            7882,
		BindAddress:        "127.0.0.1",
		NodeIP:             "127.0.0.1",
		PLIThrottle:        500 * time.Millisecond,
		SenderQueueSize:    1024,
		VideoBufferPackets: 1024,
		AudioBufferPackets: 256,
		// pion's defaults.
		ICEDisconnectedTimeout: 5 * time.Second,
		ICEFailedTimeout:       25 * time.Second,
		ICEKeepaliveInterval:   2 * time.Second,
		MaxPendingCandidates:   64,
		MaxRemoteCandidates:    256,
		// Link-local addresses, which include the cloud metadata service 169.254.169.254,
		// and the IPv6 metadata address of EC2.
		DenyCandidateCIDRs: []string{"169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128"},
		OwnSRTP:            true,
		SendBatch:          defaultSendBatch,
		Writers:            defaultWriters(),
		OwnSRTPInbound:     true, // D306
		ReaderTurns:        defaultReaderTurns,
		// BatchWrites stays off: no gain on the reference loads (docs/performance.md,
		// issue 16; decisions D58, D142).
	}
}

// defaultWriters is rtc.writers' default: a writer per core the Go scheduler runs
// goroutines on (GOMAXPROCS when the configuration is made), at most maxWriters (D306).
// A fixed number would cap a larger server at that many cores' writes.
func defaultWriters() int { return min(runtime.GOMAXPROCS(0), maxWriters) }

// iceTCPEnabled reports whether ICE over TCP is accepted.
func (c Config) iceTCPEnabled() bool { return c.TCPPort != -1 }

// iceTCPPort is the port the ICE-TCP listener binds (0 = any free port).
func (c Config) iceTCPPort() int {
	if c.TCPPort == 0 {
		return c.UDPPort
	}
	return c.TCPPort
}

// Validate checks every field; each error names its key under `rtc`.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("rtc.%s: "+format, append([]any{key}, args...)...))
	}
	if c.UDPPort < 0 || c.UDPPort > 65535 {
		add("udp_port", "must be 0..65535, got %d", c.UDPPort)
	}
	if c.TCPPort < -1 || c.TCPPort > 65535 {
		add("tcp_port", "must be -1 (disabled), 0 (same as udp_port) or 1..65535, got %d", c.TCPPort)
	}
	if net.ParseIP(c.BindAddress) == nil {
		add("bind_address", "%q is not an IP address", c.BindAddress)
	}
	if ip := net.ParseIP(c.NodeIP); ip == nil || ip.IsUnspecified() {
		add("node_ip", "%q is not a specific IP address", c.NodeIP)
	}
	for i, s := range c.NAT1To1IPs {
		if ip := net.ParseIP(s); ip == nil || ip.IsUnspecified() {
			add("nat_1to1_ips", "entry %d: %q is not a specific IP address", i, s)
		}
	}
	if c.PLIThrottle < minPLIThrottle || c.PLIThrottle > maxPLIThrottle {
		add("pli_throttle", "must be %s..%s, got %s", minPLIThrottle, maxPLIThrottle, c.PLIThrottle)
	}
	if c.SenderQueueSize < minSenderQueueSize || c.SenderQueueSize > maxSenderQueueSize {
		add("sender_queue_size", "must be %d..%d, got %d", minSenderQueueSize, maxSenderQueueSize, c.SenderQueueSize)
	}
	checkBuffer := func(key string, n int) {
		if n < minBufferPackets || n > maxBufferPackets || n&(n-1) != 0 {
			add(key, "must be a power of two in %d..%d, got %d", minBufferPackets, maxBufferPackets, n)
		}
	}
	checkBuffer("video_buffer_packets", c.VideoBufferPackets)
	checkBuffer("audio_buffer_packets", c.AudioBufferPackets)
	for _, t := range []struct {
		key string
		d   time.Duration
	}{
		{"ice_disconnected_timeout", c.ICEDisconnectedTimeout},
		{"ice_failed_timeout", c.ICEFailedTimeout},
		{"ice_keepalive_interval", c.ICEKeepaliveInterval},
	} {
		if t.d < minICETimeout || t.d > maxICETimeout {
			add(t.key, "must be %s..%s, got %s", minICETimeout, maxICETimeout, t.d)
		}
	}
	if c.ICEKeepaliveInterval >= c.ICEDisconnectedTimeout {
		add("ice_keepalive_interval", "must be shorter than ice_disconnected_timeout (%s), got %s", c.ICEDisconnectedTimeout, c.ICEKeepaliveInterval)
	}
	if c.SendBatch < 1 || c.SendBatch > maxSendBatch {
		add("send_batch", "must be 1..%d, got %d", maxSendBatch, c.SendBatch)
	}
	if c.Writers < 0 || c.Writers > maxWriters {
		add("writers", "must be 0..%d, got %d", maxWriters, c.Writers)
	}
	if c.ReaderTurns < 0 || c.ReaderTurns > maxReaderTurns {
		add("reader_turns", "must be 0..%d, got %d", maxReaderTurns, c.ReaderTurns)
	}
	if c.MaxRemoteCandidates < 1 || c.MaxRemoteCandidates > maxCandidatesLimit {
		add("max_remote_candidates", "must be 1..%d, got %d", maxCandidatesLimit, c.MaxRemoteCandidates)
	}
	if c.MaxPendingCandidates < 1 || c.MaxPendingCandidates > c.MaxRemoteCandidates {
		add("max_pending_candidates", "must be 1..max_remote_candidates (%d), got %d", c.MaxRemoteCandidates, c.MaxPendingCandidates)
	}
	for i, s := range c.DenyCandidateCIDRs {
		if _, err := parsePrefix(s); err != nil {
			add("deny_candidate_cidrs", "entry %d: %v", i, err)
		}
	}
	return errors.Join(errs...)
}

// parsePrefix reads a CIDR or a single IP address (a prefix of its full length).
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR or an IP address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
