package room

import (
	"fmt"

	"github.com/parley-rtc/parley/sfu"
)

// VideoSize is the picture size a subscriber wants of a remote video; zero means no
// preference (the largest layer the bandwidth allows).
type VideoSize struct {
	Width, Height int
}

// SetRemoteViewQuality records the size this participant wants of publisherUserID's
// video. For a simulcast track it receives the smallest layer that covers the size;
// single-layer tracks are unaffected. The wish applies to the current video and to
// later ones until StopRemoteView, and may be given before StartRemoteView.
func (p *Participant) SetRemoteViewQuality(publisherUserID string, width, height int) error {
	if err := p.checkViewOf("remote view quality", publisherUserID); err != nil {
		return err
	}
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.left {
		return fmt.Errorf("remote view quality by %q: %w", p.userID, ErrParticipantLeft)
	}
	if err := p.admitWishLocked(publisherUserID); err != nil {
		return err
	}
	size := VideoSize{Width: max(width, 0), Height: max(height, 0)}
	p.wantSize[publisherUserID] = size
	for rcv, dt := range p.downTracks {
		if rcv.StreamID() == publisherUserID {
			dt.SetWantedSize(size.Width, size.Height)
		}
	}
	return nil
}

// wantedLayersChanged reports that the subscribers now need other simulcast layers of
// user's video. Called by the sfu from any goroutine, never under room.mu; only queues.
func (r *Room) wantedLayersChanged(user string, wanted []sfu.WantedLayer) {
	layers := make([]PublishLayer, len(wanted))
	for i, w := range wanted {
		layers[i] = PublishLayer{RID: w.RID, Active: w.Wanted}
	}
	l, id := r.manager.listener, r.id
	r.events.push(func() { l.PublishLayersChanged(id, user, layers) })
}

// applyWantedSizeLocked gives a new DownTrack the wish recorded for its publisher.
// Caller holds room.mu.
func (p *Participant) applyWantedSizeLocked(dt downTrack) {
	if size, ok := p.wantSize[dt.StreamID()]; ok {
		dt.SetWantedSize(size.Width, size.Height)
	}
}

// RemoteVideoLayer reports which simulcast layer of publisherUserID's video this
// participant receives (current) and is switching to (target); ok is false when it
// receives no simulcast video of that user.
func (p *Participant) RemoteVideoLayer(publisherUserID string) (current, target int, ok bool) {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	for rcv, dt := range p.downTracks {
		if rcv.StreamID() == publisherUserID && rcv.Simulcast() {
			return dt.CurrentLayer(), dt.TargetLayer(), true
		}
	}
	return 0, 0, false
}
