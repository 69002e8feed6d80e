package client

import "github.com/pion/webrtc/v4"

// SelectedPath describes the ICE candidate pair a connection uses.
type SelectedPath struct {
	Local, Remote webrtc.ICECandidate
	// LocalRelayProtocol is how a local relay candidate reaches its TURN server (udp, tcp
	// or tls); empty for other candidate types.
	LocalRelayProtocol string
}

// SelectedPath is the candidate pair the publisher's connection uses (ok false before
// ICE has selected one).
func (p *Publisher) SelectedPath() (path SelectedPath, ok bool) {
	return selectedPath(p.pc)
}

// SelectedPath is the candidate pair the subscriber's connection uses (ok false before
// ICE has selected one).
func (s *Subscriber) SelectedPath() (path SelectedPath, ok bool) {
	return selectedPath(s.pc)
}

func selectedPath(pc *webrtc.PeerConnection) (SelectedPath, bool) {
	sctp := pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return SelectedPath{}, false
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil {
		return SelectedPath{}, false
	}
	path := SelectedPath{Local: *pair.Local, Remote: *pair.Remote}
	if path.Local.Typ == webrtc.ICECandidateTypeRelay {
		for _, s := range pc.GetStats() {
			c, ok := s.(webrtc.ICECandidateStats)
			if ok && c.Type == webrtc.StatsTypeLocalCandidate && c.CandidateType == webrtc.ICECandidateTypeRelay &&
				c.IP == path.Local.Address && int(c.Port) == int(path.Local.Port) {
				path.LocalRelayProtocol = c.RelayProtocol
			}
		}
	}
	return path, true
}
