package client

import "strings"

// sdpSession names the PeerConnection that made an SDP: its o= session id (kept across
// renegotiations) and its DTLS fingerprint, joined. A new PeerConnection changes it.
func sdpSession(sdp string) string {
	var origin, fingerprint string
	for line := range strings.Lines(sdp) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case origin == "" && strings.HasPrefix(line, "o="):
			if fields := strings.Fields(line); len(fields) > 1 {
				origin = fields[1]
			}
		case fingerprint == "" && strings.HasPrefix(line, "a=fingerprint:"):
			fingerprint = line
		}
	}
	return origin + " " + fingerprint
}
