package sfu

import "strings"

// keyframeDetector reports whether a payload is the first packet of a keyframe for one codec.
type keyframeDetector func(payload []byte) bool

// keyframeDetectorFor returns the detector of a codec's mime type, or nil when the codec
// has no keyframes (audio) or is unknown (every packet is then forwarded as it comes).
func keyframeDetectorFor(mimeType string) keyframeDetector {
	switch strings.ToLower(mimeType) {
	case "video/vp8":
		return isVP8KeyframeStart
	case "video/vp9":
		return isVP9KeyframeStart
	case "video/h264":
		return isH264KeyframeStart
	case "video/av1":
		return isAV1KeyframeStart
	}
	return nil
}

// isVP8KeyframeStart: RFC 7741 payload descriptor with S=1 and partition 0, then a VP8
// frame header whose P bit (inverse keyframe flag) is 0.
func isVP8KeyframeStart(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	b0 := payload[0]
	if b0&0x10 == 0 || b0&0x07 != 0 { // S bit, PID
		return false
	}
	i := 1
	if b0&0x80 != 0 { // X: extension byte follows
		if len(payload) < 2 {
			return false
		}
		x := payload[1]
		i = 2
		if x&0x80 != 0 { // I: PictureID, 1 or 2 bytes
			if len(payload) <= i {
				return false
			}
			if payload[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/KEYIDX byte
			i++
		}
	}
	if len(payload) <= i {
		return false
	}
	return payload[i]&0x01 == 0
}

// isVP9KeyframeStart: RFC 9628 descriptor with P=0 (not inter-predicted) and B=1 (start of frame).
func isVP9KeyframeStart(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	return payload[0]&0x40 == 0 && payload[0]&0x08 != 0
}

// isAV1KeyframeStart: aggregation header N bit, set on the first packet of a coded video sequence.
func isAV1KeyframeStart(payload []byte) bool {
	return len(payload) >= 1 && payload[0]&0x08 != 0
}

// isH264KeyframeStart reports an SPS or IDR slice at the start of a packet: a single NAL
// unit, any unit of a STAP-A, or the first fragment of an FU-A.
func isH264KeyframeStart(payload []byte) bool {
	const (
		nalIDR  = 5
		nalSPS  = 7
		nalSTAP = 24
		nalFUA  = 28
	)
	if len(payload) < 1 {
		return false
	}
	switch nal := payload[0] & 0x1f; nal {
	case nalIDR, nalSPS:
		return true
	case nalSTAP:
		for i := 1; i+2 < len(payload); {
			size := int(payload[i])<<8 | int(payload[i+1])
			if size == 0 {
				return false
			}
			t := payload[i+2] & 0x1f
			if t == nalIDR || t == nalSPS {
				return true
			}
			i += 2 + size
		}
	case nalFUA:
		if len(payload) < 2 {
			return false
		}
		fu := payload[1]
		return fu&0x80 != 0 && (fu&0x1f == nalIDR || fu&0x1f == nalSPS)
	}
	return false
}
