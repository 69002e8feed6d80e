package client

import (
	"errors"
	"sync"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Following the call's media type (docs/decisions.md D241). As the browser SDK does, a
// Conn that hears onCallMediaTypeChanged to audio — both sides of the call hear it, the
// one that switched too — closes its camera: the Publisher stops sending video
// (SetVideoSending) and the server is told (closeCamera, so the others get
// onUserVideoAvailable(false)). It also stops the remote views the app started, so it
// subscribes to nobody's video while the call is audio. On the switch back to video the
// views start again (the browser SDK keeps them for the whole call) and the camera stays
// closed until the app opens it (OpenCamera), as in the browser SDK.

// remoteViews are the remote views the app started in the current call or room
// (StartRemoteView), with their quality. mu guards the fields.
type remoteViews struct {
	mu        sync.Mutex
	wanted    map[string]protocol.VideoQuality
	audioOnly bool // the call switched to audio: the views are stopped on the server
}

// reset forgets the views: a call ended, or a room was joined or left.
func (v *remoteViews) reset() {
	v.mu.Lock()
	v.wanted, v.audioOnly = nil, false
	v.mu.Unlock()
}

// begin forgets the views of an earlier call or room; an audio call that its accept
// switched to audio (onCallMediaTypeChanged before onCallBegin, D18) stays switched.
func (v *remoteViews) begin(audio bool) {
	v.mu.Lock()
	v.wanted = nil
	v.audioOnly = v.audioOnly && audio
	v.mu.Unlock()
}

// held reports whether the call is audio, so a view request is kept for the switch back
// to video instead of sent.
func (v *remoteViews) held() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.audioOnly
}

// set records the view of userID at quality.
func (v *remoteViews) set(userID string, q protocol.VideoQuality) {
	v.mu.Lock()
	if v.wanted == nil {
		v.wanted = make(map[string]protocol.VideoQuality)
	}
	v.wanted[userID] = q
	v.mu.Unlock()
}

// update changes the quality of userID's view if it is recorded.
func (v *remoteViews) update(userID string, q protocol.VideoQuality) {
	v.mu.Lock()
	if _, ok := v.wanted[userID]; ok {
		v.wanted[userID] = q
	}
	v.mu.Unlock()
}

// forget drops userID's view.
func (v *remoteViews) forget(userID string) {
	v.mu.Lock()
	delete(v.wanted, userID)
	v.mu.Unlock()
}

// follow records the call's new media type and returns the views to stop (to audio) or
// start again (back to video); nil when the type did not change for the views.
func (v *remoteViews) follow(audio bool) map[string]protocol.VideoQuality {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.audioOnly == audio {
		return nil
	}
	v.audioOnly = audio
	views := make(map[string]protocol.VideoQuality, len(v.wanted))
	for u, q := range v.wanted {
		views[u] = q
	}
	return views
}

// trackCallEvent updates the views at the call events that change them; for
// onCallMediaTypeChanged it hands the media worker what the switch asks for. It runs on
// the reader goroutine, before any On handler hears the event, so a view an app starts
// from its onCallBegin handler is not forgotten afterwards.
func (c *Conn) trackCallEvent(ev Event) {
	switch ev.Name {
	case protocol.EventCallBegin:
		var p protocol.CallBeginEvent
		_ = ev.Decode(&p) // undecodable: not an audio call
		c.views.begin(p.MediaType == protocol.MediaTypeAudio)
	case protocol.EventCallEnd, protocol.EventCallCancelled:
		c.views.reset()
	case protocol.EventCallMediaTypeChanged:
		var p protocol.CallMediaTypeChangedEvent
		if err := ev.Decode(&p); err != nil {
			c.log.Warn("undecodable onCallMediaTypeChanged", "err", err)
			return
		}
		audio := p.NewMediaType == protocol.MediaTypeAudio
		views := c.views.follow(audio)
		c.media.push(mediaTask{run: func() { c.followMediaType(audio, views) }})
	}
}

// followMediaType carries out a switch of the call's media type on the media worker: to
// audio it closes the camera (when the Publisher sends video) and stops views; back to
// video it starts the views again. The requests go out in that order without waiting
// for their answers; "not in a room" (the call ended meanwhile) is no error.
func (c *Conn) followMediaType(audio bool, views map[string]protocol.VideoQuality) {
	done := func(err error) {
		if err != nil && !errors.Is(err, ErrClosed) {
			c.media.failUnlessLeft(0, err)
		}
	}
	if audio && c.media.setVideoSending(false) {
		c.requestAsync(protocol.MethodCloseCamera, nil, done)
	}
	for userID, q := range views {
		if audio {
			c.requestAsync(protocol.MethodStopRemoteView, protocol.StopRemoteViewParams{UserID: userID}, done)
		} else {
			c.requestAsync(protocol.MethodStartRemoteView, protocol.StartRemoteViewParams{UserID: userID, VideoQuality: q}, done)
		}
	}
}

// setVideoSending turns the running Publisher's video on or off and reports whether it
// sent video before.
func (m *mediaState) setVideoSending(on bool) bool {
	m.mu.Lock()
	pub := m.pub
	m.mu.Unlock()
	return pub != nil && pub.SetVideoSending(on)
}

// SetVideoSending stops (false) or resumes (true) sending the video track, as a closed
// and reopened camera would: the PeerConnection and its tracks stay, nothing is
// renegotiated, and a resumed video starts with a keyframe. It reports whether the
// Publisher has video and sent it before the call.
func (p *Publisher) SetVideoSending(on bool) bool {
	if p.video == nil && p.simulcast == nil {
		return false
	}
	wasOff := p.videoOff.Swap(!on)
	if wasOff && on {
		p.keyframeWanted.Store(true)
		if p.simulcast != nil {
			for _, l := range p.simulcast.layers {
				l.keyframeWanted.Store(true)
			}
		}
	}
	return !wasOff
}
