package room

import (
	"time"

	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/sfu/quality"
	"github.com/pion/webrtc/v4"
)

// linkSnapshot is what the quality ticker reads about one user at one tick.
type linkSnapshot struct {
	// connected: the user is in the room and one of its PeerConnections has connected.
	connected bool
	// connectedAt is when that happened (zero when not yet).
	connectedAt time.Time
	// idle: the user publishes nothing, receives nothing and none of its PeerConnections
	// is disconnected, failed or closed, so no media and no RTCP are expected from it and
	// their absence does not mean Down.
	idle     bool
	uplink   map[upTrack]sfu.UplinkStats
	downlink []sfu.DownTrackStats
}

// userLink is the quality state of one user; it belongs to the room's ticker goroutine.
// It turns cumulative statistics into per-window samples (the difference to the previous
// tick's snapshot of the same stream) and runs the user's quality.Estimator over them.
type userLink struct {
	estimator *quality.Estimator
	previous  time.Time // time of the previous update; zero before the first
	uplink    map[upTrack]sfu.UplinkStats
	downlink  map[*sfu.DownTrack]sfu.DownTrackStats
	// lastActivity is the latest of: the last RTP or RTCP packet from the user (remembered
	// across ticks, so it survives the end of a stream), the moment it connected, and the
	// last tick at which it was idle.
	lastActivity time.Time
}

func newUserLink(cfg quality.Config) *userLink {
	return &userLink{
		estimator: quality.NewEstimator(cfg),
		uplink:    map[upTrack]sfu.UplinkStats{},
		downlink:  map[*sfu.DownTrack]sfu.DownTrackStats{},
	}
}

// update takes one tick's snapshot and returns the user's quality: the worse of its
// uplink (every published track) and downlink (every received track), Down when it has
// been silent for more than quality.DefaultDownAfter while connected, Unknown before
// there is enough data (see quality.Estimator).
func (u *userLink) update(now time.Time, s linkSnapshot) quality.Quality {
	if !s.connected {
		u.reset()
		return u.estimator.Update(now, nil, nil, false, time.Time{})
	}
	elapsed := time.Duration(0)
	if !u.previous.IsZero() {
		elapsed = now.Sub(u.previous)
	}
	u.previous = now
	u.lastActivity = latest(u.lastActivity, s.connectedAt)
	if s.idle {
		u.lastActivity = latest(u.lastActivity, now)
	}

	up := make([]quality.LinkSample, 0, len(s.uplink))
	nextUp := make(map[upTrack]sfu.UplinkStats, len(s.uplink))
	for key, cur := range s.uplink {
		prev, ok := u.uplink[key]
		up = append(up, uplinkSample(prev, ok, cur, elapsed))
		nextUp[key] = cur
		u.lastActivity = latest(u.lastActivity, latest(cur.LastPacket, cur.LastRTCP))
	}
	down := make([]quality.LinkSample, 0, len(s.downlink))
	nextDown := make(map[*sfu.DownTrack]sfu.DownTrackStats, len(s.downlink))
	for _, cur := range s.downlink {
		prev, ok := u.downlink[cur.Track]
		down = append(down, downlinkSample(prev, ok, cur))
		nextDown[cur.Track] = cur
		u.lastActivity = latest(u.lastActivity, cur.LastRTCP)
	}
	u.uplink, u.downlink = nextUp, nextDown
	return u.estimator.Update(now, up, down, true, u.lastActivity)
}

func (u *userLink) reset() {
	u.previous, u.lastActivity = time.Time{}, time.Time{}
	clear(u.uplink)
	clear(u.downlink)
}

// uplinkSample is one published track's window: packets expected and lost from the
// sequence numbers since the previous snapshot (since the start for the first one), the
// current jitter, and the bitrate over elapsed. The uplink has no RTT of its own (see the
// sfu's link statistics); the estimator uses the user's downlink RTT.
func uplinkSample(prev sfu.UplinkStats, havePrev bool, cur sfu.UplinkStats, elapsed time.Duration) quality.LinkSample {
	if !havePrev {
		prev = sfu.UplinkStats{}
	}
	w := cur.Sequence.Since(prev.Sequence)
	s := quality.LinkSample{
		Kind:            kindForQuality(cur.Kind),
		PacketsExpected: w.Expected,
		PacketsLost:     int64(w.Lost),
		Jitter:          cur.Jitter,
	}
	if havePrev && elapsed > 0 && cur.Bytes >= prev.Bytes {
		s.Bitrate = uint64(float64(cur.Bytes-prev.Bytes) * 8 / elapsed.Seconds())
	}
	return s
}

// downlinkSample is one received track's window from the subscriber's receiver reports:
// with an earlier report, the packets expected (difference of the extended highest
// sequence numbers) and lost (difference of the cumulative loss) since then — a window
// in which no packet was expected carries no loss information; with only reports from
// this window, the latest report's fraction lost.
func downlinkSample(prev sfu.DownTrackStats, havePrev bool, cur sfu.DownTrackStats) quality.LinkSample {
	s := quality.LinkSample{
		Kind:   kindForQuality(cur.Kind),
		Jitter: cur.Jitter,
		RTT:    cur.RTT,
	}
	if !havePrev || cur.Reports < prev.Reports || cur.NACKed < prev.NACKed || cur.PLIs < prev.PLIs {
		prev = sfu.DownTrackStats{}
	}
	s.NACKs = uint32(cur.NACKed - prev.NACKed)
	s.PLIs = uint32(cur.PLIs - prev.PLIs)
	reports := cur.Reports - prev.Reports
	switch {
	case reports == 0:
		// Nothing new: not informative.
	case prev.Reports > 0 && cur.ExtendedHighest >= prev.ExtendedHighest:
		s.PacketsExpected = uint64(cur.ExtendedHighest - prev.ExtendedHighest)
		s.PacketsLost = int64(cur.TotalLost) - int64(prev.TotalLost)
		if s.PacketsExpected == 0 {
			s.PacketsLost = 0 // the stream was paused: no loss information
		}
	default:
		s.Reports = int(min(reports, 1<<16))
		s.FractionLost = cur.FractionLost
	}
	return s
}

func kindForQuality(k webrtc.RTPCodecType) quality.Kind {
	if k == webrtc.RTPCodecTypeVideo {
		return quality.KindVideo
	}
	return quality.KindAudio
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
