package room

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/sfu/quality"
	"github.com/pion/webrtc/v4"
)

var t0 = time.Unix(1_700_000_000, 0)

func at(seconds float64) time.Time { return t0.Add(time.Duration(seconds * float64(time.Second))) }

// uplinkAt is a published audio track's cumulative statistics.
func uplinkAt(expected, received uint64, last time.Time) sfu.UplinkStats {
	return sfu.UplinkStats{
		Kind:       webrtc.RTPCodecTypeAudio,
		Packets:    received,
		Bytes:      received * 100,
		Sequence:   quality.SequenceSnapshot{Expected: expected, Received: received, ExtendedHighest: uint32(expected)},
		Jitter:     2 * time.Millisecond,
		LastPacket: last,
	}
}

// downlinkAt is a received track's latest receiver report (RTT 40 ms).
func downlinkAt(track *sfu.DownTrack, kind webrtc.RTPCodecType, reports uint64, fraction uint8, totalLost, highest uint32, last time.Time) sfu.DownTrackStats {
	return sfu.DownTrackStats{
		Track: track, Kind: kind, Reports: reports, FractionLost: fraction, TotalLost: totalLost,
		ExtendedHighest: highest, Jitter: 2 * time.Millisecond, RTT: 40 * time.Millisecond,
		LastReport: last, LastRTCP: last,
	}
}

func TestUserLinkUplinkWindows(t *testing.T) {
	var rcv upTrack = new(sfu.Receiver)
	up := func(expected, received uint64, last float64) map[upTrack]sfu.UplinkStats {
		return map[upTrack]sfu.UplinkStats{rcv: uplinkAt(expected, received, at(last))}
	}
	// Each step is one 2 s window of 50 packets/s audio. Cumulative loss would smooth the
	// 20 % window to a few percent; the estimator must see the window's own loss.
	steps := []struct {
		name     string
		now      float64
		snapshot linkSnapshot
		want     quality.Quality
	}{
		{"connected, nothing yet", 0.5, linkSnapshot{connected: true, connectedAt: at(0)}, quality.Unknown},
		{"too few packets", 2, linkSnapshot{connected: true, connectedAt: at(0), uplink: up(5, 5, 1.9)}, quality.Unknown},
		{"clean window", 4, linkSnapshot{connected: true, connectedAt: at(0), uplink: up(105, 105, 3.9)}, quality.Excellent},
		{"20 % of this window lost", 6, linkSnapshot{connected: true, connectedAt: at(0), uplink: up(205, 185, 5.9)}, quality.Vbad},
		{"5 % lost: recovery waits", 8, linkSnapshot{connected: true, connectedAt: at(0), uplink: up(305, 280, 7.9)}, quality.Vbad},
		{"5 % lost again: Poor", 10, linkSnapshot{connected: true, connectedAt: at(0), uplink: up(405, 375, 9.9)}, quality.Poor},
		{"late packets (negative window loss)", 12, linkSnapshot{connected: true, connectedAt: at(0), uplink: up(505, 480, 11.9)}, quality.Poor},
		{"clean", 14, linkSnapshot{connected: true, connectedAt: at(0), uplink: up(605, 580, 13.9)}, quality.Excellent},
		{"no new packets for 6 s", 20, linkSnapshot{connected: true, connectedAt: at(0), uplink: up(605, 580, 13.9)}, quality.Down},
		{"left the room", 22, linkSnapshot{}, quality.Unknown},
	}
	link := newUserLink(quality.Config{})
	for _, s := range steps {
		if got := link.update(at(s.now), s.snapshot); got != s.want {
			t.Fatalf("%s (t=%gs): quality %v, want %v", s.name, s.now, got, s.want)
		}
	}
}

func TestUserLinkDownlinkWindows(t *testing.T) {
	audio, video := new(sfu.DownTrack), new(sfu.DownTrack)
	snap := func(tracks ...sfu.DownTrackStats) linkSnapshot {
		return linkSnapshot{connected: true, connectedAt: at(0), downlink: tracks}
	}
	steps := []struct {
		name     string
		now      float64
		snapshot linkSnapshot
		want     quality.Quality
	}{
		{"no report yet", 2, snap(downlinkAt(audio, webrtc.RTPCodecTypeAudio, 0, 0, 0, 0, time.Time{})), quality.Unknown},
		// The first reports only have the fraction lost: 13/256 = 5 %.
		{"first report: fraction lost", 4, snap(downlinkAt(audio, webrtc.RTPCodecTypeAudio, 2, 13, 5, 100, at(3.5))), quality.Poor},
		// 100 expected, 0 lost since the previous report, although the latest report's
		// fraction would still say 5 %: the window counts.
		{"window without loss", 6, snap(downlinkAt(audio, webrtc.RTPCodecTypeAudio, 4, 0, 5, 200, at(5.5))), quality.Poor},
		{"second clean window", 8, snap(downlinkAt(audio, webrtc.RTPCodecTypeAudio, 6, 0, 5, 300, at(7.5))), quality.Excellent},
		// A video stream appears with 20 % loss in its first report: the worse stream counts.
		{"video joins, lossy", 10, snap(
			downlinkAt(audio, webrtc.RTPCodecTypeAudio, 8, 0, 5, 400, at(9.5)),
			downlinkAt(video, webrtc.RTPCodecTypeVideo, 2, 51, 40, 200, at(9.5))), quality.Vbad},
		// The publisher paused: no packets expected, so no loss information; RTCP keeps
		// arriving, so not Down either; the level stays.
		{"paused streams", 12, snap(
			downlinkAt(audio, webrtc.RTPCodecTypeAudio, 10, 0, 5, 400, at(11.5)),
			downlinkAt(video, webrtc.RTPCodecTypeVideo, 4, 0, 40, 200, at(11.5))), quality.Vbad},
		{"no reports and no RTP for 5.5 s", 17, snap(
			downlinkAt(audio, webrtc.RTPCodecTypeAudio, 10, 0, 5, 400, at(11.5)),
			downlinkAt(video, webrtc.RTPCodecTypeVideo, 4, 0, 40, 200, at(11.5))), quality.Down},
	}
	link := newUserLink(quality.Config{})
	for _, s := range steps {
		if got := link.update(at(s.now), s.snapshot); got != s.want {
			t.Fatalf("%s (t=%gs): quality %v, want %v", s.name, s.now, got, s.want)
		}
	}
}

func TestUserLinkDownRule(t *testing.T) {
	var rcv upTrack = new(sfu.Receiver)
	tests := []struct {
		name  string
		steps []linkSnapshot // one per second, from t=1
		want  quality.Quality
	}{
		{"connected 6 s, idle (nothing to send or receive)", repeat(6, linkSnapshot{connected: true, connectedAt: at(0), idle: true}), quality.Unknown},
		{"connected 4 s, nothing flowing yet", repeat(4, linkSnapshot{connected: true, connectedAt: at(0)}), quality.Unknown},
		{"connected 6 s, nothing ever flowing", repeat(6, linkSnapshot{connected: true, connectedAt: at(0)}), quality.Down},
		{"never connected", repeat(8, linkSnapshot{}), quality.Unknown},
		{"its track ended 6 s ago; its PeerConnection failed", append(
			[]linkSnapshot{{connected: true, connectedAt: at(0), uplink: map[upTrack]sfu.UplinkStats{rcv: uplinkAt(50, 50, at(1))}}},
			repeat(6, linkSnapshot{connected: true, connectedAt: at(0)})...), quality.Down},
		{"its track ended 6 s ago, nothing left to expect", append(
			[]linkSnapshot{{connected: true, connectedAt: at(0), uplink: map[upTrack]sfu.UplinkStats{rcv: uplinkAt(50, 50, at(1))}}},
			repeat(6, linkSnapshot{connected: true, connectedAt: at(0), idle: true})...), quality.Excellent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			link := newUserLink(quality.Config{})
			var got quality.Quality
			for i, s := range tt.steps {
				got = link.update(at(float64(i+1)), s)
			}
			if got != tt.want {
				t.Errorf("quality %v, want %v", got, tt.want)
			}
		})
	}
}

func repeat(n int, s linkSnapshot) []linkSnapshot {
	out := make([]linkSnapshot, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestDownlinkSample(t *testing.T) {
	track := new(sfu.DownTrack)
	prev := downlinkAt(track, webrtc.RTPCodecTypeVideo, 3, 10, 100, 1000, at(1))
	prev.NACKed, prev.PLIs = 40, 2
	tests := []struct {
		name     string
		prev     *sfu.DownTrackStats
		cur      sfu.DownTrackStats
		expected uint64
		lost     int64
		reports  int
		nacks    uint32
	}{
		{"first report", nil, downlinkAt(track, webrtc.RTPCodecTypeVideo, 1, 26, 7, 50, at(1)), 0, 0, 1, 0},
		{"window", &prev, func() sfu.DownTrackStats {
			s := downlinkAt(track, webrtc.RTPCodecTypeVideo, 5, 3, 112, 1400, at(3))
			s.NACKed, s.PLIs = 55, 3
			return s
		}(), 400, 12, 0, 15},
		{"no new report", &prev, prev, 0, 0, 0, 0},
		{"sequence restart: fraction of the latest report", &prev, func() sfu.DownTrackStats {
			s := downlinkAt(track, webrtc.RTPCodecTypeVideo, 4, 9, 101, 20, at(3))
			s.NACKed, s.PLIs = 40, 2
			return s
		}(), 0, 0, 1, 0},
		{"counters went back: a new stream", &prev, downlinkAt(track, webrtc.RTPCodecTypeVideo, 1, 5, 1, 10, at(3)), 0, 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p sfu.DownTrackStats
			if tt.prev != nil {
				p = *tt.prev
			}
			s := downlinkSample(p, tt.prev != nil, tt.cur)
			if s.PacketsExpected != tt.expected || s.PacketsLost != tt.lost || s.Reports != tt.reports || s.NACKs != tt.nacks {
				t.Errorf("sample %+v, want expected %d lost %d reports %d nacks %d", s, tt.expected, tt.lost, tt.reports, tt.nacks)
			}
			if s.Kind != quality.KindVideo || s.RTT != 40*time.Millisecond {
				t.Errorf("kind %v rtt %s", s.Kind, s.RTT)
			}
			if s.Reports > 0 && s.FractionLost != tt.cur.FractionLost {
				t.Errorf("fraction lost %d, want %d", s.FractionLost, tt.cur.FractionLost)
			}
		})
	}
}

func TestUplinkSampleBitrate(t *testing.T) {
	prev := uplinkAt(100, 100, at(1))
	cur := uplinkAt(200, 190, at(3))
	s := uplinkSample(prev, true, cur, 2*time.Second)
	if s.PacketsExpected != 100 || s.PacketsLost != 10 || s.Bitrate != 90*100*8/2 || s.Kind != quality.KindAudio {
		t.Errorf("sample %+v", s)
	}
	if s := uplinkSample(sfu.UplinkStats{}, false, cur, 0); s.PacketsExpected != 200 || s.PacketsLost != 10 || s.Bitrate != 0 {
		t.Errorf("first sample %+v", s)
	}
}
