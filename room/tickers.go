package room

import (
	"maps"
	"sync"
	"time"

	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/sfu/quality"
	"github.com/pion/webrtc/v4"
)

// roomTickers stops the room's ticker goroutine, once.
type roomTickers struct {
	stop chan struct{}
	once sync.Once
}

func newRoomTickers() *roomTickers { return &roomTickers{stop: make(chan struct{})} }

func (t *roomTickers) close() { t.once.Do(func() { close(t.stop) }) }

// startTickers runs the room's ticker goroutine: every room.volume_interval it reports the
// voice volumes, every room.quality_interval the network quality of every user. It reads
// the sfu's statistics only through their lock-free snapshots and takes Room.mu briefly
// to list the members; it stops when the room closes (Manager.Close waits for it).
func (r *Room) startTickers() {
	r.manager.eventGoroutines.Add(1)
	go func() {
		defer r.manager.eventGoroutines.Done()
		r.runTickers(r.tickers.stop)
	}()
}

func (r *Room) runTickers(stop <-chan struct{}) {
	defaults := DefaultConfig()
	volumeInterval, qualityInterval := r.manager.cfg.VolumeInterval, r.manager.cfg.QualityInterval
	if volumeInterval <= 0 {
		volumeInterval = defaults.VolumeInterval
	}
	if qualityInterval <= 0 {
		qualityInterval = defaults.QualityInterval
	}
	volumeTicker := time.NewTicker(volumeInterval)
	defer volumeTicker.Stop()
	qualityTicker := time.NewTicker(qualityInterval)
	defer qualityTicker.Stop()

	var lastVolumes volumeReport
	links := map[*Participant]*userLink{}
	for {
		select {
		case <-stop:
			return
		case now := <-volumeTicker.C:
			lastVolumes = r.volumeTick(now, lastVolumes)
		case now := <-qualityTicker.C:
			r.qualityTick(now, links)
		}
	}
}

// memberView is what a tick needs of one participant, copied under Room.mu.
type memberView struct {
	p           *Participant
	pub         publisherPeer
	sub         subscriberPeer
	connected   bool
	connectedAt time.Time
	audioMuted  bool
	audio       []upTrack
	published   int
}

// memberViews lists the participants the reports are about: early ones are not (nobody
// may hear of them, and they publish nothing yet).
func (r *Room) memberViews() []memberView {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]memberView, 0, len(r.participants))
	for _, p := range r.participants {
		if p.early {
			continue
		}
		v := memberView{
			p: p, pub: p.pub, sub: p.sub, connected: p.joinedReported && !p.left, connectedAt: p.joinedAt,
			audioMuted: p.audioMuted, published: len(p.published),
		}
		for rcv, kind := range p.published {
			if kind == KindAudio {
				v.audio = append(v.audio, rcv)
			}
		}
		out = append(out, v)
	}
	return out
}

// volumeReport is what the previous volume report said and to how many joined
// participants (Room.joinedReports at the time).
type volumeReport struct {
	volumes map[string]int
	joined  uint64
}

// volumeTick reports every audio publisher's volume (the loudest of its audio tracks;
// muted → 0) unless the map equals the previous report and nobody joined since: a
// participant that joined after it has not heard the map yet (the listener leaves out
// the users who did). It returns the report made last.
func (r *Room) volumeTick(now time.Time, last volumeReport) volumeReport {
	volumes := map[string]int{}
	members := r.memberViews()
	for _, m := range members {
		if len(m.audio) == 0 {
			continue
		}
		volume := 0
		for _, rcv := range m.audio {
			rcv.SetMuted(m.audioMuted)
			volume = max(volume, rcv.Volume(now))
		}
		volumes[m.p.userID] = volume
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range members {
		if m.p.left {
			delete(volumes, m.p.userID)
		}
	}
	if r.closed || (maps.Equal(volumes, last.volumes) && last.joined == r.joinedReports) {
		return last
	}
	if len(volumes) == 0 && len(last.volumes) == 0 {
		// Nobody publishes audio, and nobody heard otherwise: nothing to tell.
		return volumeReport{volumes: last.volumes, joined: r.joinedReports}
	}
	report := maps.Clone(volumes)
	r.emitLocked(func(l Listener, id ID) { l.VoiceVolumes(id, report) })
	return volumeReport{volumes: volumes, joined: r.joinedReports}
}

// qualityTick updates every user's quality estimator and reports the list, in join order.
func (r *Room) qualityTick(now time.Time, links map[*Participant]*userLink) {
	members := r.memberViews()
	present := make(map[*Participant]bool, len(members))
	list := make([]UserQuality, 0, len(members))
	for _, m := range members {
		present[m.p] = true
		link := links[m.p]
		if link == nil {
			link = newUserLink(quality.Config{})
			links[m.p] = link
		}
		q := link.update(now, m.snapshot())
		list = append(list, UserQuality{UserID: m.p.userID, Quality: int(q)})
	}
	for p := range links {
		if !present[p] {
			delete(links, p)
		}
	}
	if len(list) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	kept := list[:0]
	for i, m := range members {
		if !m.p.left {
			kept = append(kept, list[i])
		}
	}
	if r.closed || len(kept) == 0 {
		return
	}
	r.emitLocked(func(l Listener, id ID) { l.NetworkQuality(id, kept) })
}

// snapshot reads the member's link statistics (lock-free sfu snapshots).
func (m memberView) snapshot() linkSnapshot {
	s := linkSnapshot{connected: m.connected, connectedAt: m.connectedAt}
	if !m.connected {
		return s
	}
	var receivers []upTrack
	if m.pub != nil {
		receivers = m.pub.Tracks()
	}
	s.uplink = make(map[upTrack]sfu.UplinkStats, len(receivers))
	for _, rcv := range receivers {
		s.uplink[rcv] = rcv.Stats()
	}
	if m.sub != nil {
		s.downlink = m.sub.DownlinkStats().Tracks
	}
	s.idle = len(receivers) == 0 && m.published == 0 && len(s.downlink) == 0 &&
		peerUp(m.pub) && peerUp(m.sub)
	return s
}

// peerUp: the PeerConnection is not disconnected, failed or closed; a Peer not built
// (the client never needed it) is not down either.
func peerUp(p mediaPeer) bool {
	if p == nil {
		return true
	}
	switch p.ConnectionState() {
	case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		return false
	}
	return true
}
