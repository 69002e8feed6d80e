package sfu

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// rtc.own_srtp off: every subscriber's RTP goes through pion's SRTP session, and the
// client reads it.
func TestOwnSRTPOff(t *testing.T) {
	c := newLoopbackCall(t, 1, func(cfg *Config) { cfg.OwnSRTP = false })
	sub := c.subs[0]
	before := c.reads.Load()
	waitFor(t, func() bool { c.sendBursts(1); return c.reads.Load() > before })
	if forwarded, own := sub.sender.forwardedPackets.Load(), sub.out.own.Load(); forwarded == 0 || own != 0 {
		t.Fatalf("%d of %d forwarded packets went the own path, want none", own, forwarded)
	}
}

// A subscriber's every RTP packet — first transmissions and the resends its NACKs ask
// for — leaves through the Sender's own path (sealed with the keys learnt from the DTLS
// handshake, written from the Engine's socket), with and without rtc.batch_writes, and
// the pion client decrypts and plays all of it: the delivery gate counts what its track
// read, its NACKs are answered, its transport-wide feedback reaches the congestion
// controller about the numbers the own path gave, and its receiver reports give the
// DownTrack an RTT: they answer the sender reports, which leave sealed by the own SRTCP
// context. pion clients declare
// cryptex (RFC 9335), so the header extension is sealed as they expect.
func TestOwnRTPPathCarriesAllMedia(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch_writes=%v", batch), func(t *testing.T) {
			c := newLossyLoopbackCall(t, 1, callLoss{subscriber: func(seq uint16) bool { return seq%40 == 11 }},
				func(cfg *Config) { cfg.BatchWrites = batch })
			sub := c.subs[0]
			missing := "nothing checked yet"
			waitFor(t, func() bool {
				c.sendBursts(1)
				s := sub.DownlinkStats()
				switch {
				case c.repaired.Load() == 0:
					missing = "a lost packet resent to the client"
				case sub.bw.lastTWCCNs.Load() == 0:
					missing = "transport-wide feedback at the congestion controller"
				case len(s.Tracks) != 1 || s.Tracks[0].RTT == 0:
					missing = fmt.Sprintf("receiver reports with an RTT (%+v)", s.Tracks)
				default:
					missing = ""
				}
				return missing == ""
			})
			if missing != "" {
				t.Fatalf("missing: %s", missing)
			}
			forwarded, own := sub.sender.forwardedPackets.Load(), sub.out.own.Load()
			if forwarded == 0 || own != forwarded {
				t.Fatalf("%d of %d forwarded packets went the own path, want all", own, forwarded)
			}
			if sub.out.ownRTCP.Load() == 0 {
				t.Fatal("no sender report went the own path")
			}
			if n := sub.out.unroutable.Load(); n != 0 {
				t.Fatalf("%d packets unroutable", n)
			}
			if mode := srtp.CryptexMode(sub.out.cryptex.Load()); mode != srtp.CryptexModeEnabled {
				t.Fatalf("cryptex mode %v, want enabled (the pion client declares it)", mode)
			}
			if w := c.engine.batch; batch && w.packets.Load() == 0 {
				t.Fatal("rtc.batch_writes on, but nothing went through the batched writer")
			}
		})
	}
}

// The path is decided by the first packet after the handshake and kept: before it
// packets are dropped (pion's writer drops them too); no keys by then, or a pair over
// TCP, mean pion's path for good, even when keys or a UDP pair come later, and one log
// line saying why; with keys and a UDP pair the own path, also for good: a later pair
// over TCP without a TCP route makes its packets unroutable instead of handing the SSRCs
// to pion's SRTP context (with one, TestRTPOutWritesOnTheTCPRoute).
func TestRTPOutRouteIsDecidedOnce(t *testing.T) {
	type step struct {
		keys, failed, ready, known, udp, remote bool
		want                                    string // own, pion, drop
		why                                     string // the reason logged when it falls back to pion's path
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"own after the handshake", []step{
			{want: "drop"},
			{keys: true, want: "drop"},              // keys, handshake not finished
			{keys: true, ready: true, want: "drop"}, // no pair known
			{keys: true, ready: true, known: true, udp: true, want: "drop"}, // no remote address (closing)
			{keys: true, ready: true, known: true, udp: true, remote: true, want: "own"},
			{keys: true, ready: true, known: true, udp: false, remote: false, want: "own"}, // TCP later: still own
		}},
		{"pion without keys after the handshake", []step{
			{ready: true, known: true, udp: true, remote: true, want: "pion", why: "no SRTP keys"},
			{keys: true, ready: true, known: true, udp: true, remote: true, want: "pion"},
		}},
		{"pion when the keys failed", []step{
			{failed: true, want: "pion", why: "no SRTP keys"},
			{keys: true, ready: true, known: true, udp: true, remote: true, want: "pion"},
		}},
		{"pion on a TCP pair", []step{
			{keys: true, ready: true, known: true, udp: false, want: "pion", why: "ICE-TCP"},
			{keys: true, ready: true, known: true, udp: true, remote: true, want: "pion"},
		}},
	}
	ctx, err := srtp.CreateContext(make([]byte, 16), make([]byte, 12), srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cur step
			var remote atomic.Pointer[netip.AddrPort]
			keys := &dtlsKeys{}
			var wrote int
			var logged strings.Builder
			o := &rtpOut{keys: keys, remote: &remote, history: newSendHistory(), next: new(atomic.Uint32),
				log:   slog.New(slog.NewTextHandler(&logged, nil)),
				write: func(b []byte, _ netip.AddrPort) (int, error) { wrote++; return len(b), nil },
				ready: func() bool { return cur.ready },
				pair:  func() (bool, bool) { return cur.udp, cur.known },
			}
			addr := netip.MustParseAddrPort("127.0.0.1:5000")
			for i, s := range tc.steps {
				cur = s
				if s.keys && keys.context() == nil {
					keys.ctx.Store(ctx)
				}
				keys.failed.Store(s.failed)
				remote.Store(nil)
				if s.remote {
					remote.Store(&addr)
				}
				own, drop := o.route()
				got := "pion"
				switch {
				case own:
					got = "own"
				case drop:
					got = "drop"
				}
				if got != s.want {
					t.Fatalf("step %d: %s, want %s", i, got, s.want)
				}
				if s.why != "" && (strings.Count(logged.String(), "reason=") != 1 || !strings.Contains(logged.String(), s.why)) {
					t.Fatalf("step %d: logged %q, want the reason %q once", i, logged.String(), s.why)
				}
				if own {
					h := rtp.Header{Version: 2, SSRC: 1, SequenceNumber: uint16(i)}
					err := o.send(&h, []byte{1, 2, 3})
					if s.remote != (err == nil) {
						t.Fatalf("step %d: send: %v", i, err)
					}
				}
			}
			if o.mode == outOwn && o.unroutable.Load() != 1 {
				t.Fatalf("%d unroutable, want the packet sent on the TCP pair", o.unroutable.Load())
			}
		})
	}
}

// The own path numbers, seals and writes a packet without allocating, sender reports
// included (after the first packet of an SSRC, whose SRTP state srtp makes once).
func TestRTPOutAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under -race are not the program's")
	}
	ctx, err := srtp.CreateContext(make([]byte, 16), make([]byte, 12), srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	var remote atomic.Pointer[netip.AddrPort]
	addr := netip.MustParseAddrPort("127.0.0.1:5000")
	remote.Store(&addr)
	history := newSendHistory()
	history.allocate()
	history.extID.Store(3)
	o := &rtpOut{remote: &remote, history: history, next: new(atomic.Uint32), mode: outOwn, ctx: ctx,
		write: func(b []byte, _ netip.AddrPort) (int, error) { return len(b), nil }}
	o.cryptex.Store(int32(srtp.CryptexModeEnabled))
	payload := make([]byte, 1100)
	var h rtp.Header
	sr := appendReceiverReport(nil, 1, nil) // any compound of SSRC 1
	seq := uint16(0)
	send := func() {
		seq++
		h = rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: 1, Extensions: h.Extensions[:0]}
		if err := o.send(&h, payload); err != nil {
			t.Fatal(err)
		}
		if !o.sendRTCP(sr) {
			t.Fatal("sendRTCP handed the report to pion on the own path")
		}
	}
	send()
	if n := testing.AllocsPerRun(200, send); n != 0 {
		t.Fatalf("%.1f allocations per packet", n)
	}
	if o.own.Load() == 0 || o.ownRTCP.Load() == 0 {
		t.Fatal("nothing written")
	}
}
