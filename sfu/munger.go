package sfu

import (
	"sync/atomic"
	"time"
)

// munger is the one renumbering of a DownTrack's packets, whatever the number of the
// Receiver's layers (D80): the rewriter's sequence numbers and timestamps, and for VP8
// the picture ID and TL0PICIDX offsets of the layer it follows. It follows one input
// stream (a layer) at a time:
//
//   - a drop (padding, a keyframe wait, a full queue) of the layer it follows closes the
//     gap (rewriter.drop); packets of other layers leave it untouched;
//   - a keyframe of the same layer continues that layer's numbering (offsets kept, so
//     timestamps keep the publisher's clock); with several VP8 layers the picture ID and
//     TL0PICIDX continue from the last sent ones, as at a switch;
//   - a keyframe of another layer restarts the rewriter right after the last output, the
//     timestamp advanced by the wall time since the last advancing packet, and VP8
//     picture IDs / TL0PICIDX continue from the last sent ones.
//
// Owned by the forwarder's goroutine (under forwarder.mu when several layers feed it);
// munges is read by the RTCP goroutine for resends.
type munger struct {
	// Every packet.
	rw            rewriter
	layer         int32 // the layer rw follows; -1 before the first packet
	clockRate     uint32
	lastSentNs    int64
	vp8           vp8Munge // of the layer followed
	trackPictures bool     // VP8 with several layers: remember the last sent picture ID

	havePicture bool // lastPicture/lastTL0 hold what was last sent
	lastPicture uint16
	lastTL0     uint8
	pictureMask uint16
	munges      [maxLayers]atomic.Uint32 // each layer's VP8 renumbering (packed), for resends
}

// follows reports whether packets of layer continue the stream being renumbered.
func (m *munger) follows(layer int32) bool { return m.layer == layer }

// switchTo makes layer the followed one, starting at its keyframe p (see munger).
func (m *munger) switchTo(layer int32, p *rtpPacket, now time.Time) {
	same := m.rw.started && m.layer == layer
	if m.rw.started && !same {
		delta := uint32(1)
		if elapsed := now.UnixNano() - m.lastSentNs; m.lastSentNs != 0 && elapsed > 0 {
			delta = max(uint32(elapsed*int64(m.clockRate)/int64(time.Second)), 1)
		}
		m.rw.restart(delta)
	}
	if same && !m.trackPictures {
		return // the same stream: the gap since the last sent packet is closed already
	}
	v := vp8Munge{}
	if m.trackPictures && m.havePicture {
		var desc vp8Descriptor
		if parseVP8Descriptor(p.Payload, &desc) && desc.hasPicture {
			v.active = true
			v.pictureID = (m.lastPicture + 1 - desc.pictureID) & desc.pictureIDMask()
			v.tl0PicIdx = m.lastTL0 + 1 - desc.tl0PicIdx
		}
	}
	m.vp8 = v
	m.munges[layer].Store(v.pack())
	m.layer = layer
}

// drop records that packet seq of layer was deliberately not sent.
func (m *munger) drop(layer int32, seq uint16) {
	if m.layer == layer {
		m.rw.drop(seq)
	}
}

// commit records that p, renumbered as r by m.rw.next, was queued.
func (m *munger) commit(r *rewrite, p *rtpPacket, nowNs int64) {
	m.rw.commit(r)
	if r.advance {
		m.lastSentNs = nowNs
		if m.trackPictures {
			m.notePicture(p.Payload)
		}
	}
}

// notePicture remembers the picture ID and TL0PICIDX as sent.
func (m *munger) notePicture(payload []byte) {
	var desc vp8Descriptor
	if !parseVP8Descriptor(payload, &desc) || !desc.hasPicture {
		return
	}
	m.pictureMask = desc.pictureIDMask()
	m.lastPicture = desc.pictureID
	m.lastTL0 = desc.tl0PicIdx
	if m.vp8.active {
		m.lastPicture = (desc.pictureID + m.vp8.pictureID) & m.pictureMask
		m.lastTL0 = desc.tl0PicIdx + m.vp8.tl0PicIdx
	}
	m.havePicture = true
}

// resendMunge is how a resent packet of layer i is renumbered. Any goroutine.
func (m *munger) resendMunge(i uint8) vp8Munge {
	return unpackVP8Munge(m.munges[i].Load())
}

// restart makes the next packet start a new input stream (another simulcast layer):
// output continues at lastOut+1, tsDelta after the last output timestamp.
func (w *rewriter) restart(tsDelta uint32) {
	w.started = false
	w.closeGap = false
	w.lastTS += tsDelta
}
