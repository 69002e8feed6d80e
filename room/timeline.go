package room

import (
	"context"
	"log/slog"
	"time"

	"github.com/parley-rtc/parley/sfu"
)

// A participant's media timeline: one debug log line "early media timeline" per step,
// each with the step's time since the participant joined (sinceJoin) and, once it was
// activated (early.go), since Activate (sinceActivate), so that one grep of a room's
// log gives where a call's setup time goes. Steps, each logged once per PeerConnection
// or track (ICE again after an ICE restart):
//   - StepActivated: Activate (an early participant only), with whether a
//     PeerConnection was up and how many held tracks it published;
//   - "ice connected" and "dtls connected" (sfu.StepICEConnected, sfu.StepDTLSConnected)
//     of each PeerConnection, with its role (publisher or subscriber);
//   - StepTrackPublished: a track of the participant's reached the server (its first RTP
//     packet in), with held when it waits for Activate;
//   - StepFirstRTPOut: the first packet of another participant's track was queued for
//     this participant (per DownTrack: sfu.DownTrack.OnFirstPacketSent), with the
//     publisher's user ID.
//
// The clients measure the rest (first packet received, first frame decoded).
const (
	StepActivated      = "activated"
	StepTrackPublished = "track published"
	StepFirstRTPOut    = "first rtp out"
)

// timelineStep logs one step at time at; from any goroutine without room.mu (enteredAt
// is fixed at Join, activatedAt atomic).
func (p *Participant) timelineStep(step string, at time.Time, attrs ...any) {
	if !p.log().Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	args := make([]any, 0, 8+len(attrs))
	args = append(args, "room", p.room.id.String(), "step", step, "sinceJoin", at.Sub(p.enteredAt).Round(time.Millisecond))
	if activated := p.activatedAt.Load(); activated != nil {
		args = append(args, "sinceActivate", at.Sub(*activated).Round(time.Millisecond))
	}
	p.log().Debug("early media timeline", append(args, attrs...)...)
}

// watchConnectSteps logs peer's ICE and DTLS steps. The callback runs under pion's DTLS
// lock: it only logs.
func (p *Participant) watchConnectSteps(peer mediaPeer, role string) {
	ice, dtls := stepPublisherICE, stepPublisherDTLS
	if role == "subscriber" {
		ice, dtls = stepSubscriberICE, stepSubscriberDTLS
	}
	peer.OnConnectStep(func(step string) {
		now := time.Now()
		switch step {
		case sfu.StepICEConnected:
			p.timeline.note(ice, now)
		case sfu.StepDTLSConnected:
			p.timeline.note(dtls, now)
		}
		p.timelineStep(step, now, "role", role)
	})
}

// watchFirstPacketSent logs the first packet of rcv sent to this participant over dt.
func (p *Participant) watchFirstPacketSent(dt downTrack, rcv upTrack) {
	publisher, kind := rcv.StreamID(), kindOf(rcv.Kind()).String()
	dt.OnFirstPacketSent(func(at time.Time) {
		p.timeline.note(stepFirstRTPOut, at)
		p.timelineStep(StepFirstRTPOut, at, "publisher", publisher, "kind", kind)
	})
}
