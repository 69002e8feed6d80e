package sfu

import "strings"

// sdpSessionID names the PeerConnection that made an SDP: the origin's session id
// (RFC 4566 o=, kept for a PeerConnection's life across renegotiations) and the DTLS
// certificate fingerprint. A new PeerConnection changes at least one of them.
type sdpSessionID struct {
	origin      string
	fingerprint string
}

// sdpSession reads the session identity of sdp (zero fields where the lines are missing).
func sdpSession(sdp string) sdpSessionID {
	var id sdpSessionID
	if o, ok := sdpLine(sdp, "o="); ok {
		// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
		if f := strings.Fields(o); len(f) >= 2 {
			id.origin = f[1]
		}
	}
	id.fingerprint, _ = sdpLine(sdp, "a=fingerprint:")
	return id
}

// iceUfrag is the first a=ice-ufrag value of an SDP ("" without one). With BUNDLE every
// section carries the same credentials, so the first one names the ICE generation.
func iceUfrag(sdp string) string {
	v, _ := sdpLine(sdp, "a=ice-ufrag:")
	return v
}

// sdpLine is the trimmed rest of the first line of sdp that starts with prefix.
func sdpLine(sdp, prefix string) (string, bool) {
	for line := range strings.Lines(sdp) {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}
