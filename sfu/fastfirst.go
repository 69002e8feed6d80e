package sfu

import "time"

// Fast first frame: a DownTrack (single-layer or simulcast: one forwarder.go) that starts forwarding (a new subscriber) does
// not wait for a fresh keyframe when its layer's packet
// buffer still holds every packet since the layer's last keyframe: it sends them at once
// and continues live. The replay is bounded (maxReplayPackets, maxReplaySpan) because
// the subscriber plays the replayed frames at their own pace, so the span becomes
// start-up latency that its jitter buffer must drain; beyond the bounds it asks for a
// keyframe (PLI) as before. A DownTrack that already sent something (another layer, or
// a stream that broke) waits for a live keyframe instead: replaying there would shift
// its timestamps ahead of the wall clock with every switch.
//
// Start below the target: a DownTrack that forwards nothing yet starts on a smaller layer
// when its target layer cannot start now — its last packet found no keyframe to replay
// (a keyframe was requested), or it sent nothing for startBelowSilence (paused by the
// publisher, or not sent at the start bitrate) — and the smaller layer can: a live
// keyframe, or a replay within the bounds above. The target's keyframe then switches it
// up as any switch does. A viewer sees a smaller picture at once instead of a black tile
// for a keyframe round trip, or for the second it takes to find that a layer stopped.

const (
	// maxReplayPackets bounds the packets sent at once from the buffer: the burst goes
	// out back to back, and a longer one overflowed a (race-instrumented) pion
	// receiver on loopback — the losses were NACK-repaired but arrived out of order.
	maxReplayPackets = 48
	// maxReplaySpan bounds the media time between the buffered keyframe and now.
	maxReplaySpan = 700 * time.Millisecond
	// startBelowSilence is how long a target layer may send nothing before a DownTrack
	// that waits for it starts on a smaller layer (several frame intervals at 30 fps).
	startBelowSilence = 150 * time.Millisecond
)

// keyframeMark is where a layer's last keyframe starts. Written and read by the layer's
// read goroutine only (writePacket, then DownTrack.forward on the same goroutine).
type keyframeMark struct {
	valid bool
	seq   uint16
	ts    uint32
}

func (m *keyframeMark) note(p *rtpPacket) {
	if p.Keyframe && len(p.Payload) > 0 {
		m.valid, m.seq, m.ts = true, p.SequenceNumber, p.Timestamp
	}
}

// replayFromKeyframe starts a DownTrack that forwards nothing yet on layer l from the
// layer's last buffered keyframe, sending every packet before the live packet p (which
// the caller then sends). It reports whether it did; false leaves the DownTrack
// untouched when the replay is out of bounds or incomplete, or stopped (current -1) when
// the Sender's queue refused a packet. Layer l's read goroutine (under forwarder.mu for a
// simulcast track); no allocation.
func (d *DownTrack) replayFromKeyframe(l *layer, p *rtpPacket, now time.Time) bool {
	s := &d.fwd
	mark := l.keyframes
	count := p.SequenceNumber - mark.seq
	if s.replay == nil || s.m.rw.started || !mark.valid || mark == s.replayRefused[l.index] || count == 0 || count > maxReplayPackets ||
		int64(p.Timestamp-mark.ts)*int64(time.Second) > int64(maxReplaySpan)*int64(s.m.clockRate) {
		return false
	}
	s.replayRefused[l.index] = mark // one attempt per keyframe: the checks below take locks
	if int(count) > d.sender.free()/2 {
		return false // leave room for live traffic
	}
	for seq := mark.seq; seq != p.SequenceNumber; seq++ {
		if !l.buffer.has(seq) {
			return false
		}
	}
	var old rtpPacket
	for seq := mark.seq; seq != p.SequenceNumber; seq++ {
		if !l.buffer.load(seq, &old, s.replay[:]) {
			s.current.Store(-1)
			return false
		}
		if seq == mark.seq {
			d.switchLayer(l, &old, now)
		}
		if !d.sendPacket(l, &old, now) {
			return false
		}
	}
	s.replayRefused[l.index] = keyframeMark{}
	s.replays.Add(1)
	return true
}

// StartsBelow counts how often forwarding started on a layer smaller than the target
// because the target had no keyframe at hand.
func (d *DownTrack) StartsBelow() uint64 { return d.fwd.startsBelow.Load() }

// free is the number of packets the queue can take now.
func (s *Sender) free() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.slots) - s.count
}

// Replays counts how often forwarding started from a buffered keyframe.
func (d *DownTrack) Replays() uint64 { return d.fwd.replays.Load() }
