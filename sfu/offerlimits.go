package sfu

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// Bounds of a publisher's offer (D205). Every audio or video section the client sends
// on becomes a Receiver with its own NACK buffer (rtc.video_buffer_packets slots of
// maxPacketSize bytes: about 1.5 MB for a video track at the default) once its first
// packet arrives, and an event plus a DownTrack per subscriber of the room; a 64 KiB
// offer holds over a hundred such sections. Parley's clients publish one audio and one
// video section (simulcast layers are rids of the one video section, at most maxLayers
// of them), so the caps leave room for a second of each and refuse the rest.
const (
	// MaxPublishSections bounds the audio and video sections of one offer that send
	// (port not 0, direction sendrecv or sendonly).
	MaxPublishSections = 4
	// MaxOfferSections bounds the m-sections of one offer in all (stopped ones, data
	// and receive-only sections included): each is a transceiver in the PeerConnection.
	MaxOfferSections = 16
)

// checkPublishOffer refuses a publisher's offer with more than MaxOfferSections
// m-sections, more than MaxPublishSections sending audio/video sections or a section with
// more than maxLayers send rids (ErrTooManyTracks). An offer that does not parse passes: pion refuses it with its own
// error.
func checkPublishOffer(offer string) error {
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(offer); err != nil {
		return nil
	}
	if n := len(desc.MediaDescriptions); n > MaxOfferSections {
		return fmt.Errorf("%d m-sections in the offer, at most %d: %w", n, MaxOfferSections, ErrTooManyTracks)
	}
	sending := 0
	for i, m := range desc.MediaDescriptions {
		if sendsMedia(m) {
			sending++
		}
		if n := sendRIDs(m); n > maxLayers {
			return fmt.Errorf("m-section %d offers %d simulcast rids, at most %d: %w", i, n, maxLayers, ErrTooManyTracks)
		}
	}
	if sending > MaxPublishSections {
		return fmt.Errorf("%d audio/video sections that send in the offer, at most %d: %w", sending, MaxPublishSections, ErrTooManyTracks)
	}
	return nil
}

// sendRIDs counts m's "a=rid:<id> send" lines. Only the first maxLayers rids of a track
// are read (newSimulcastReceiver); pion would buffer the packets of any further rid,
// unread, up to its per-stream limit.
func sendRIDs(m *sdp.MediaDescription) int {
	n := 0
	for _, a := range m.Attributes {
		if a.Key != "rid" {
			continue
		}
		if f := strings.Fields(a.Value); len(f) >= 2 && f[1] == "send" {
			n++
		}
	}
	return n
}

// sendsMedia reports whether m is an audio or video section its sender sends on: a port
// other than 0 and no recvonly or inactive attribute (sendrecv is the default).
func sendsMedia(m *sdp.MediaDescription) bool {
	if kind := m.MediaName.Media; kind != "audio" && kind != "video" || m.MediaName.Port.Value == 0 {
		return false
	}
	for _, a := range m.Attributes {
		if a.Key == "recvonly" || a.Key == "inactive" {
			return false
		}
	}
	return true
}
