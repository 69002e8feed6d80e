package room

import (
	"sync/atomic"
	"time"
)

// A call participant's timeline as numbers: each step's time since the call's accept,
// handed once per participant to the Manager's StepObserver (SetStepObserver; the
// server's parley_call_timeline_seconds histograms, D135). The accept is the server's
// moment (signaling's accept, JoinOptions.AcceptedAt or ActivateAt); a step done before
// it (early media: the join, ICE and DTLS while the call rang) counts as 0. A participant
// that joined for no call (no accept time) reports nothing. Only each step's first
// occurrence counts (an ICE restart is not a new step).

// Call steps, in the order a call's media comes up (the step label values).
const (
	CallStepRoomJoin                = "room_join"
	CallStepActivated               = "activated"
	CallStepPublisherICEConnected   = "publisher_ice_connected"
	CallStepPublisherDTLSConnected  = "publisher_dtls_connected"
	CallStepSubscriberICEConnected  = "subscriber_ice_connected"
	CallStepSubscriberDTLSConnected = "subscriber_dtls_connected"
	CallStepFirstRTPIn              = "first_rtp_in"
	CallStepFirstRTPOut             = "first_rtp_out"
)

// CallSteps are the call steps in order.
var CallSteps = [...]string{
	CallStepRoomJoin, CallStepActivated, CallStepPublisherICEConnected, CallStepPublisherDTLSConnected,
	CallStepSubscriberICEConnected, CallStepSubscriberDTLSConnected, CallStepFirstRTPIn, CallStepFirstRTPOut,
}

// Indexes into CallSteps.
const (
	stepRoomJoin = iota
	stepActivated
	stepPublisherICE
	stepPublisherDTLS
	stepSubscriberICE
	stepSubscriberDTLS
	stepFirstRTPIn
	stepFirstRTPOut
	numCallSteps
)

// StepObserver hears the steps of call participants (SetStepObserver).
type StepObserver interface {
	// CallStep: participant userID of room reached step (one of CallSteps) sinceAccept
	// after its call's accept (0: before it). Called once per step and participant, from
	// any goroutine, possibly under pion's DTLS transport lock: it must not block nor
	// call into the room.
	CallStep(room ID, userID, step string, sinceAccept time.Duration)
}

// callTimeline is one participant's step times and accept time (Unix ns, 0 unset): all
// atomic, written once each, from any goroutine. Whoever writes second of a step's time
// and the accept time reports the step (done makes it once).
type callTimeline struct {
	obs    StepObserver // nil: nothing is recorded
	room   ID           // fixed at Join
	user   string
	origin atomic.Int64
	at     [numCallSteps]atomic.Int64
	done   [numCallSteps]atomic.Bool
}

// note records step's first time.
func (t *callTimeline) note(step int, at time.Time) {
	if t.obs == nil {
		return
	}
	t.at[step].CompareAndSwap(0, at.UnixNano())
	t.report(step)
}

// accepted sets the call's accept time once (zero: none) and reports the steps done.
func (t *callTimeline) accepted(at time.Time) {
	if t.obs == nil || at.IsZero() || !t.origin.CompareAndSwap(0, at.UnixNano()) {
		return
	}
	for step := range numCallSteps {
		t.report(step)
	}
}

func (t *callTimeline) report(step int) {
	origin, at := t.origin.Load(), t.at[step].Load()
	if origin == 0 || at == 0 || !t.done[step].CompareAndSwap(false, true) {
		return
	}
	t.obs.CallStep(t.room, t.user, CallSteps[step], max(0, time.Duration(at-origin)))
}

// SetStepObserver sets who hears the call participants' steps; call it before the first
// Join (nil: nobody).
func (m *Manager) SetStepObserver(o StepObserver) { m.steps = o }
