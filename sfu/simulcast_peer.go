package sfu

import "github.com/pion/webrtc/v4"

// handleSimulcastTrack takes one rid layer of a publisher's simulcast track. The first
// layer pion reports creates the Receiver with every rid the offer announced and
// publishes it (OnTrack); later layers of the same transceiver attach to it.
func (p *Publisher) handleSimulcastTrack(track *webrtc.TrackRemote, rtpReceiver *webrtc.RTPReceiver) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = rtpReceiver.Stop()
		return
	}
	var r *Receiver
	for x := range p.receivers {
		if x.rtpReceiver == rtpReceiver && x.sim != nil {
			r = x
		}
	}
	created := r == nil
	if created {
		var rids []string
		for _, t := range rtpReceiver.Tracks() {
			if t.RID() != "" {
				rids = append(rids, t.RID())
			}
		}
		r = newSimulcastReceiver(receiverParams{
			trackID:       track.ID(),
			streamID:      p.id,
			kind:          track.Kind(),
			codec:         track.Codec(),
			bufferPackets: p.engine.cfg.VideoBufferPackets,
			pliThrottle:   p.engine.cfg.PLIThrottle,
			writeRTCP:     p.pc.WriteRTCP,
			in:            p.in,
			logger:        p.logger.With("track", track.ID()),
		}, orderRIDs(rids))
		r.rtpReceiver = rtpReceiver
		p.receivers[r] = struct{}{}
	}
	f := p.onTrack
	p.mu.Unlock()

	if !r.attachLayer(track) {
		p.logger.Debug("simulcast layer not attached", "track", track.ID(), "rid", track.RID())
	}
	if !created {
		return
	}
	r.OnClose(func() {
		p.mu.Lock()
		delete(p.receivers, r)
		p.mu.Unlock()
	})
	p.logger.Debug("published simulcast track", "track", r.trackID, "codec", r.codec.MimeType,
		"rids", len(r.sim.layers))
	if f != nil {
		f(r)
	}
}
