package audiolevel

import "github.com/pion/rtp"

// SilenceLevel is the RFC 6464 level of digital silence: -127 dBov.
const SilenceLevel = 127

// maxPayload is the longest extension payload Parse accepts. RFC 6464 sends a
// single byte; a few senders pad the element to a 32-bit boundary, so up to
// four bytes are tolerated and everything after the first byte is ignored.
const maxPayload = 4

// Parse decodes the payload of an RFC 6464 audio-level header extension
// element: the most significant bit is the voice-activity flag, the remaining
// seven bits the level in -dBov (0 = 0 dBov, the loudest; 127 = silence).
// ok is false when b is empty or longer than four bytes. Parse allocates
// nothing and never panics, whatever b holds.
func Parse(b []byte) (level uint8, voice bool, ok bool) {
	if len(b) == 0 || len(b) > maxPayload {
		return 0, false, false
	}
	return b[0] & 0x7f, b[0]&0x80 != 0, true
}

// FromHeader reads the audio-level extension with the ID negotiated on the
// publisher's PeerConnection from a parsed RTP header. ok is false when the
// packet does not carry that extension or its payload is malformed. It
// allocates nothing.
func FromHeader(h *rtp.Header, extensionID uint8) (level uint8, voice bool, ok bool) {
	if h == nil || extensionID == 0 {
		return 0, false, false
	}
	return Parse(h.GetExtension(extensionID))
}
