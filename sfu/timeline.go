package sfu

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// Connection steps and the first forwarded packet, for a call's timeline (the room's
// "early media timeline" debug log). Nothing here runs per packet but one atomic load
// in DownTrack.sendPacket until the first packet is sent.

// Steps reported by OnConnectStep.
const (
	StepICEConnected  = "ice connected"
	StepDTLSConnected = "dtls connected"
)

// watchConnectSteps registers pion's ICE connection and DTLS transport state callbacks
// of t.pc (open); the ICE one also runs t.iceFailed. pion calls the DTLS one under the DTLS transport's lock: t.step only
// loads t.onStep (no lock) and calls it.
func (t *transport) watchConnectSteps() {
	t.pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		switch {
		case s == webrtc.ICEConnectionStateConnected:
			t.step(StepICEConnected)
		case s == webrtc.ICEConnectionStateFailed && t.iceFailed != nil:
			t.iceFailed()
		}
	})
	if sctp := t.pc.SCTP(); sctp != nil && sctp.Transport() != nil {
		sctp.Transport().OnStateChange(func(s webrtc.DTLSTransportState) {
			if s == webrtc.DTLSTransportStateConnected {
				t.step(StepDTLSConnected)
			}
		})
	}
}

func (t *transport) step(step string) {
	if f := t.onStep.Load(); f != nil {
		(*f)(step)
	}
}

// OnConnectStep sets the function called with StepICEConnected each time ICE connects
// and StepDTLSConnected when the DTLS handshake completes, on pion's goroutines (the DTLS
// one under pion's DTLS transport lock: f must not call into the PeerConnection nor
// wait for anything that does).
func (t *transport) OnConnectStep(f func(step string)) {
	t.onStep.Store(&f)
}

// OnFirstPacketSent sets the function called once, on a goroutine of its own, with the
// time the first packet of this DownTrack was queued for the subscriber; at once when
// that happened already. Set it once.
func (d *DownTrack) OnFirstPacketSent(f func(at time.Time)) {
	d.onFirstSent.Store(&f)
	d.fireFirstSent()
}

// noteFirstSent runs on the forwarding goroutine when a packet was queued and none
// before (sendPacket); the callback goes to a goroutine so forwarding never waits for it.
func (d *DownTrack) noteFirstSent(now time.Time) {
	if d.firstSentNs.CompareAndSwap(0, now.UnixNano()) {
		d.fireFirstSent()
	}
}

// fireFirstSent calls the callback once both it and the first send are there, whichever
// came last.
func (d *DownTrack) fireFirstSent() {
	f, ns := d.onFirstSent.Load(), d.firstSentNs.Load()
	if f == nil || ns == 0 || !d.firstFired.CompareAndSwap(false, true) {
		return
	}
	go (*f)(time.Unix(0, ns))
}
