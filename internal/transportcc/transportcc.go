package transportcc

import (
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
)

// ExtensionID is the ID of the transport-wide sequence number header extension the
// stream negotiated: the first extension with its URI and an ID a header can carry
// (1–255; RFC 8285); 0 when there is none.
func ExtensionID(info *interceptor.StreamInfo) uint8 {
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 256 {
			return uint8(e.ID)
		}
	}
	return 0
}
