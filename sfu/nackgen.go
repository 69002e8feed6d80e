package sfu

import "time"

// NACK generation toward publishers (D113): which packets of one published stream are
// missing and when to ask for them again. Pure: the caller passes each received sequence
// number and the time; nackLog never reads a clock and allocates nothing after
// newNACKLog.

// nackPolicy bounds the NACKs for one missing packet.
type nackPolicy struct {
	maxAge    time.Duration // a packet missing for longer is given up
	maxTries  uint8         // NACKs per missing packet at most
	skipLastN uint16        // the newest skipLastN sequence numbers are not NACKed yet (reordering)
}

// NACK generator settings: the interval matches pion's generator (which Parley used until
// D113); pion's has no bound on the NACKs per packet but its 512-packet window.
const (
	nackLogSize  = 512 // sequence numbers tracked per stream; a power of two
	nackInterval = 100 * time.Millisecond
)

var defaultNACKPolicy = nackPolicy{maxAge: time.Second, maxTries: 10, skipLastN: 0}

// Slot states.
const (
	slotEmpty uint8 = iota
	slotReceived
	slotMissing
	slotGivenUp
)

type nackSlot struct {
	seq   uint16
	state uint8
	tries uint8
	since int64 // when the gap was seen (UnixNano)
}

// nackLog is the receive state of one stream: a ring of nackLogSize slots indexed by
// sequence number (the slot's seq tells which lap it holds, so wrap-around at 65535 needs
// nothing special). Not safe for concurrent use (nackReporter guards it).
type nackLog struct {
	policy  nackPolicy
	slots   []nackSlot
	mask    uint16
	started bool
	highest uint16
	missing int // slots in state slotMissing

	probing bool   // a packet from before the window arrived: probe
	probe   uint16 // its sequence number
}

func newNACKLog(policy nackPolicy) *nackLog {
	return &nackLog{policy: policy, slots: make([]nackSlot, nackLogSize), mask: nackLogSize - 1}
}

// add records that seq arrived at now. A newer packet marks the sequence numbers it
// skipped as missing; a late one cancels its NACK. A jump ahead by a whole window or more
// restarts the log at seq; a packet from before the window is ignored unless the next one
// follows it (then the sender reset its numbering, as RFC 3550 appendix A.1 detects it,
// and the log restarts there). Nothing before a restart is NACKed.
func (l *nackLog) add(seq uint16, now int64) {
	if !l.started {
		l.reset(seq)
		return
	}
	ahead := seq - l.highest
	behind := l.highest - seq
	switch {
	case ahead == 0:
		return
	case ahead < 0x8000 && int(ahead) < len(l.slots):
		for s := l.highest + 1; s != seq; s++ {
			l.set(s, slotMissing, now)
		}
		l.highest = seq
		l.set(seq, slotReceived, now)
	case ahead >= 0x8000 && int(behind) >= len(l.slots):
		if l.probing && seq == l.probe+1 {
			l.reset(seq)
			return
		}
		l.probing, l.probe = true, seq
		return
	case ahead >= 0x8000:
		if sl := &l.slots[seq&l.mask]; sl.seq == seq && (sl.state == slotMissing || sl.state == slotGivenUp) {
			if sl.state == slotMissing {
				l.missing--
			}
			sl.state = slotReceived
		}
	default:
		l.reset(seq)
	}
	l.probing = false
}

// set overwrites seq's slot (the one of seq-nackLogSize, now out of the window).
func (l *nackLog) set(seq uint16, state uint8, now int64) {
	sl := &l.slots[seq&l.mask]
	if sl.state == slotMissing {
		l.missing--
	}
	*sl = nackSlot{seq: seq, state: state, since: now}
	if state == slotMissing {
		l.missing++
	}
}

func (l *nackLog) reset(seq uint16) {
	clear(l.slots)
	l.started, l.highest, l.missing, l.probing = true, seq, 0, false
	l.slots[seq&l.mask] = nackSlot{seq: seq, state: slotReceived}
}

// collect appends to dst, oldest first, the sequence numbers to NACK at now and counts a
// try for each; packets missing longer than maxAge or NACKed maxTries times are given up.
// No allocation when dst has room for nackLogSize entries.
func (l *nackLog) collect(now int64, dst []uint16) []uint16 {
	if l.missing == 0 {
		return dst
	}
	oldest := l.highest - uint16(len(l.slots)-1)
	newest := l.highest - l.policy.skipLastN
	for s := oldest; ; s++ {
		if sl := &l.slots[s&l.mask]; sl.seq == s && sl.state == slotMissing {
			switch {
			case now-sl.since > int64(l.policy.maxAge) || sl.tries >= l.policy.maxTries:
				sl.state = slotGivenUp
				l.missing--
			case s-oldest <= newest-oldest && newest-oldest < 0x8000:
				sl.tries++
				dst = append(dst, s)
			}
		}
		if s == l.highest {
			return dst
		}
	}
}
