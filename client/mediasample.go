package client

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// Sample media: small valid container files without an encoder, for tests and for trying
// file input (PublisherConfig.VideoFile, AudioFile; parley-bench --video-file) anywhere.
// The containers and the codec headers are valid; the pictures and the sound do not
// decode to anything meaningful.

// sampleOpusTOC is an Opus TOC byte: configuration 31 (CELT fullband, 20 ms), code 0
// (one frame).
const sampleOpusTOC = 31 << 3

// SampleIVF returns a VP8 IVF file of frames frames of width×height at fps (time base
// 1/fps): a keyframe every fps frames (the first included) of 3×frameSize bytes, the other
// frames frameSize bytes (at least 10), each a valid VP8 frame tag (and for a keyframe the
// start code and size) followed by filler.
func SampleIVF(width, height uint16, frames, fps, frameSize int) []byte {
	frameSize = max(frameSize, vp8KeyframeHeader)
	out := make([]byte, 0, ivfFileHeaderLen+frames*(ivfFrameHeaderLen+frameSize)+frames/max(fps, 1)*2*frameSize)
	out = append(out, "DKIF"...)
	out = binary.LittleEndian.AppendUint16(out, 0) // version
	out = binary.LittleEndian.AppendUint16(out, ivfFileHeaderLen)
	out = append(out, ivfFourCCVP8...)
	out = binary.LittleEndian.AppendUint16(out, width)
	out = binary.LittleEndian.AppendUint16(out, height)
	out = binary.LittleEndian.AppendUint32(out, uint32(fps)) // time base denominator
	out = binary.LittleEndian.AppendUint32(out, 1)           // time base numerator
	out = binary.LittleEndian.AppendUint32(out, uint32(frames))
	out = binary.LittleEndian.AppendUint32(out, 0)
	for i := range frames {
		keyframe := fps <= 0 || i%fps == 0
		size := frameSize
		if keyframe {
			size *= 3
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(size))
		out = binary.LittleEndian.AppendUint64(out, uint64(i))
		start := len(out)
		out = appendVP8FrameHeader(out, keyframe, size, width, height)
		for j := len(out) - start; j < size; j++ {
			out = append(out, byte(i+j))
		}
	}
	return out
}

// SampleOgg returns an Ogg file (pion's oggwriter) of one stereo Opus stream: packets
// packets of 20 ms (CELT fullband), each packetSize bytes (at least 1) of a TOC byte and
// filler.
func SampleOgg(packets, packetSize int) ([]byte, error) {
	var out bytes.Buffer
	w, err := oggwriter.NewWith(&out, opusClockRate, 2)
	if err != nil {
		return nil, fmt.Errorf("client: sample Ogg: %w", err)
	}
	for i := range packets {
		payload := make([]byte, max(packetSize, 1))
		payload[0] = sampleOpusTOC
		for j := 1; j < len(payload); j++ {
			payload[j] = byte(i*7 + j)
		}
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * audioSamplesPer20ms)}, Payload: payload}
		if err := w.WriteRTP(pkt); err != nil {
			return nil, fmt.Errorf("client: sample Ogg packet %d: %w", i, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("client: sample Ogg: %w", err)
	}
	return out.Bytes(), nil
}
