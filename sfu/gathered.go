package sfu

import (
	"context"
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// GatheredLocalDescription waits until ICE gathering of the current local description
// completed (or ctx ends) and returns that description with every gathered candidate in
// it. Endpoints that cannot trickle the server's candidates (WHIP and WHEP: the answer
// is the only message the client gets) send it instead of what HandleOffer returned.
func (p *transport) GatheredLocalDescription(ctx context.Context) (webrtc.SessionDescription, error) {
	select {
	case <-webrtc.GatheringCompletePromise(p.pc):
	case <-ctx.Done():
		return webrtc.SessionDescription{}, fmt.Errorf("gather local candidates: %w", ctx.Err())
	}
	desc := p.pc.LocalDescription()
	if desc == nil {
		return webrtc.SessionDescription{}, errors.New("gather local candidates: no local description")
	}
	return *desc, nil
}
