package client

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"os"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// maxMediaFileSize bounds what LoadIVF and LoadOgg read into memory.
const maxMediaFileSize = 256 << 20

// IVF layout (https://wiki.multimedia.cx/index.php/IVF): a 32-byte file header, then per
// frame a 12-byte header (frame size u32, presentation timestamp u64, little endian) and
// the frame. pion's ivfreader parses both; the loader also reads a frame header's raw
// size and timestamp (ivfreader allocates whatever size a header claims and scales the
// timestamp by the inverse of the time base).
const (
	ivfFileHeaderLen  = 32
	ivfFrameHeaderLen = 12
	ivfFourCCVP8      = "VP80"
)

// singleFrameDuration is the loop length of a file with one frame (no interval to go by).
const singleFrameDuration = videoClockRate / 30

// mediaFrame is one frame (VP8) or packet (Opus) of a media file.
type mediaFrame struct {
	data     []byte
	ticks    int64 // RTP clock ticks from the file's first frame
	keyframe bool  // VP8: the frame tag says keyframe
}

// IVFVideo is a VP8 IVF file loaded into memory (LoadIVF, ParseIVF). It is immutable, so
// any number of Publishers can send it at once (PublisherConfig.VideoFile).
type IVFVideo struct {
	path          string
	width, height uint16
	frames        []mediaFrame
	keyframes     int
	period        int64 // 90 kHz ticks of one pass: the last frame's time plus one mean interval
}

// Path is the file the video was loaded from ("" for ParseIVF).
func (v *IVFVideo) Path() string { return v.path }

// Size is the picture size in the IVF header.
func (v *IVFVideo) Size() (width, height uint16) { return v.width, v.height }

// Frames is the number of frames in one pass of the file.
func (v *IVFVideo) Frames() int { return len(v.frames) }

// Keyframes is how many of the frames are keyframes (the first always is).
func (v *IVFVideo) Keyframes() int { return v.keyframes }

// Duration is one pass through the file, after which it loops.
func (v *IVFVideo) Duration() time.Duration { return ticksToDuration(v.period, videoClockRate) }

// readMediaFile reads a whole media file, bounded by maxMediaFileSize.
func readMediaFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("client: media file %s: %v: %w", path, err, ErrMediaFile)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMediaFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("client: media file %s: %v: %w", path, err, ErrMediaFile)
	}
	if len(data) > maxMediaFileSize {
		return nil, fmt.Errorf("client: media file %s is larger than %d MiB: %w", path, maxMediaFileSize>>20, ErrMediaFile)
	}
	return data, nil
}

// LoadIVF reads a VP8 IVF file (ParseIVF); errors wrap ErrMediaFile and name the path.
func LoadIVF(path string) (*IVFVideo, error) {
	v, err := loadMediaFile(path, "video", ParseIVF)
	if err != nil {
		return nil, err
	}
	v.path = path
	return v, nil
}

// loadMediaFile reads path and parses it; errors name the file as a kind file.
func loadMediaFile[T any](path, kind string, parse func([]byte) (T, error)) (T, error) {
	var media T
	data, err := readMediaFile(path)
	if err != nil {
		return media, err
	}
	if media, err = parse(data); err != nil {
		return media, fmt.Errorf("client: %s file %s: %w", kind, path, err)
	}
	return media, nil
}

// ParseIVF parses the bytes of a VP8 IVF file: the fourcc must be VP80, every frame at
// least a VP8 frame tag (a keyframe also its start code and size), the first frame a
// keyframe, and timestamps must not go back. Frames of zero bytes (dropped frames) are
// skipped. Timestamps are converted from the header's time base (numerator/denominator
// seconds per unit) to the 90 kHz RTP clock. Errors wrap ErrMediaFile.
func ParseIVF(data []byte) (*IVFVideo, error) {
	rd := bytes.NewReader(data)
	r, hdr, err := ivfreader.NewWith(rd)
	if err != nil {
		return nil, fmt.Errorf("not an IVF file (%v): %w", err, ErrMediaFile)
	}
	if hdr.FourCC != ivfFourCCVP8 {
		return nil, fmt.Errorf("IVF fourcc %q, want %q (VP8): %w", hdr.FourCC, ivfFourCCVP8, ErrMediaFile)
	}
	// Seconds per timestamp unit: numerator / denominator.
	num, den := uint64(hdr.TimebaseNumerator), uint64(hdr.TimebaseDenominator)
	v := &IVFVideo{width: hdr.Width, height: hdr.Height}
	var firstPTS, lastPTS uint64
	for index := 0; ; index++ {
		pos := len(data) - rd.Len()
		if rd.Len() == 0 {
			break
		}
		if rd.Len() < ivfFrameHeaderLen {
			return nil, fmt.Errorf("IVF frame %d: header truncated (%d of %d bytes): %w", index, rd.Len(), ivfFrameHeaderLen, ErrMediaFile)
		}
		size := binary.LittleEndian.Uint32(data[pos:])
		pts := binary.LittleEndian.Uint64(data[pos+4:])
		if uint64(size) > uint64(rd.Len()-ivfFrameHeaderLen) {
			return nil, fmt.Errorf("IVF frame %d: %d bytes, the file has %d left: %w", index, size, rd.Len()-ivfFrameHeaderLen, ErrMediaFile)
		}
		frame, _, err := r.ParseNextFrame()
		if err != nil {
			return nil, fmt.Errorf("IVF frame %d: %v: %w", index, err, ErrMediaFile)
		}
		if len(v.frames) == 0 && size == 0 {
			continue // nothing shown yet: the first frame is the first with data
		}
		if len(v.frames) == 0 {
			firstPTS, lastPTS = pts, pts
		}
		if pts < lastPTS {
			return nil, fmt.Errorf("IVF frame %d: timestamp %d goes back from %d: %w", index, pts, lastPTS, ErrMediaFile)
		}
		lastPTS = pts
		if size == 0 {
			continue
		}
		ticks, ok := scaleTicks(pts-firstPTS, num*videoClockRate, den)
		if !ok {
			return nil, fmt.Errorf("IVF frame %d: timestamp %d out of range for time base %d/%d: %w", index, pts, num, den, ErrMediaFile)
		}
		keyframe, err := vp8FrameKind(frame)
		if err != nil {
			return nil, fmt.Errorf("IVF frame %d: %v: %w", index, err, ErrMediaFile)
		}
		if len(v.frames) == 0 && !keyframe {
			return nil, fmt.Errorf("IVF frame %d, the first, is not a keyframe: %w", index, ErrMediaFile)
		}
		if keyframe {
			v.keyframes++
		}
		v.frames = append(v.frames, mediaFrame{data: frame, ticks: ticks, keyframe: keyframe})
	}
	if len(v.frames) == 0 {
		return nil, fmt.Errorf("IVF file without frames: %w", ErrMediaFile)
	}
	period, err := videoLoopPeriod(v.frames)
	if err != nil {
		return nil, err
	}
	v.period = period
	return v, nil
}

// vp8FrameKind checks a VP8 frame's header (RFC 6386 §9.1) and says whether it is a
// keyframe: a 3-byte frame tag whose bit 0 is clear, then the start code and the size.
func vp8FrameKind(frame []byte) (keyframe bool, err error) {
	if len(frame) < vp8InterHeader {
		return false, fmt.Errorf("VP8 frame of %d bytes, shorter than a frame tag", len(frame))
	}
	if frame[0]&1 != 0 {
		return false, nil
	}
	if len(frame) < vp8KeyframeHeader {
		return false, fmt.Errorf("VP8 keyframe of %d bytes, shorter than its header", len(frame))
	}
	if [3]byte(frame[3:6]) != vp8StartCode {
		return false, fmt.Errorf("VP8 keyframe start code % x, want % x", frame[3:6], vp8StartCode[:])
	}
	return true, nil
}

// scaleTicks returns v*mul/div, false when div is 0 or the result does not fit an int64.
func scaleTicks(v, mul, div uint64) (int64, bool) {
	hi, lo := bits.Mul64(v, mul)
	if div == 0 || hi >= div {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, div)
	if q > 1<<62 {
		return 0, false
	}
	return int64(q), true
}

// videoLoopPeriod is one pass through frames (90 kHz ticks from the first): the last
// frame's time plus the mean interval between frames (1/30 s when there is one frame). It
// fails when all frames share one time or come faster than maxVideoFPS on average.
func videoLoopPeriod(frames []mediaFrame) (int64, error) {
	n := int64(len(frames))
	last := frames[n-1].ticks
	if n == 1 {
		return singleFrameDuration, nil
	}
	if last == 0 {
		return 0, fmt.Errorf("all %d frames have the same timestamp: %w", n, ErrMediaFile)
	}
	interval := last / (n - 1)
	if interval*maxVideoFPS < videoClockRate {
		return 0, fmt.Errorf("%d frames in %s: more than %d a second: %w", n, ticksToDuration(last, videoClockRate), maxVideoFPS, ErrMediaFile)
	}
	return last + interval, nil
}

// ticksToDuration converts RTP clock ticks to a duration without overflowing.
func ticksToDuration(ticks, clockRate int64) time.Duration {
	return time.Duration(ticks/clockRate)*time.Second + time.Duration(ticks%clockRate)*time.Second/time.Duration(clockRate)
}
