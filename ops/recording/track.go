package recording

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/h264writer"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// ErrCodecNotRecorded: a track whose codec has no file format here.
var ErrCodecNotRecorded = errors.New("codec not recorded")

// TrackFile is one recorded track in the manifest.
type TrackFile struct {
	UserID string `json:"userId"`
	Kind   string `json:"kind"`  // audio or video
	Codec  string `json:"codec"` // mime type
	File   string `json:"file"`  // name inside the recording's directory
	// StartOffsetMs is when the track's first packet arrived, in milliseconds after the
	// recording started (-1: nothing arrived); place the file there when combining.
	StartOffsetMs int64  `json:"startOffsetMs"`
	Packets       uint64 `json:"packets"`
	// Dropped counts the packets the recording lost to a full queue (a slow disk).
	Dropped uint64 `json:"dropped"`
}

// rtpWriter is what the pion media writers have in common.
type rtpWriter interface {
	WriteRTP(*rtp.Packet) error
	Close() error
}

// trackRecorder writes one received track to its file: read() puts packets in a bounded
// queue, write() empties it to disk. A full queue drops packets (video until the next
// keyframe), never blocks the reader.
type trackRecorder struct {
	info    TrackFile
	started time.Time // the recording's start
	isVP8   bool
	out     rtpWriter
	sizeAt  io.WriterAt // a VP8 IVF file whose header gets the first keyframe's size; nil after
	queue   chan *rtp.Packet

	packets, dropped atomic.Uint64
	firstAt          atomic.Int64 // unix nanoseconds of the first packet, 0 before
	mu               sync.Mutex
	writeErr         error
}

// trackFileName is the name of the n-th file of userID's tracks of kind: userID is a
// valid userId (the signaling layer checks it; a name that could leave the recording's
// directory is refused here too).
func trackFileName(userID, kind string, n int, ext string) (string, error) {
	if !protocol.ValidUserID(userID) {
		return "", fmt.Errorf("record a track of %.70q: not a userId", userID)
	}
	return fmt.Sprintf("%s-%s-%d.%s", userID, kind, n, ext), nil
}

// newTrackRecorder creates the file for track of userID in dir.
func newTrackRecorder(dir, userID string, n int, track *webrtc.TrackRemote, queue int, started time.Time) (*trackRecorder, error) {
	codec := track.Codec()
	mime := strings.ToLower(codec.MimeType)
	var ext string
	switch mime {
	case strings.ToLower(webrtc.MimeTypeOpus):
		ext = "ogg"
	case strings.ToLower(webrtc.MimeTypeVP8), strings.ToLower(webrtc.MimeTypeVP9), strings.ToLower(webrtc.MimeTypeAV1):
		ext = "ivf"
	case strings.ToLower(webrtc.MimeTypeH264):
		ext = "h264"
	default:
		return nil, fmt.Errorf("%s of %q: %w", codec.MimeType, userID, ErrCodecNotRecorded)
	}
	name, err := trackFileName(userID, track.Kind().String(), n, ext)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", name, err)
	}
	var out rtpWriter
	switch ext {
	case "ogg":
		var w *oggwriter.OggWriter
		if w, err = oggwriter.NewWith(f, codec.ClockRate, max(codec.Channels, 1)); err == nil {
			out = closeBoth{w, f}
		}
	case "ivf":
		var w *ivfwriter.IVFWriter
		// Time base 1/clock rate, RTP timestamps as they come: exact frame times.
		w, err = ivfwriter.NewWith(f, ivfwriter.WithCodec(codec.MimeType), ivfwriter.WithFrameRate(1, codec.ClockRate), ivfwriter.WithDirectPTS())
		if err == nil {
			out = closeBoth{w, f}
		}
	default:
		out = closeBoth{h264writer.NewWith(f), f}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("record %s: %w", name, err)
	}
	t := &trackRecorder{
		info:    TrackFile{UserID: userID, Kind: track.Kind().String(), Codec: codec.MimeType, File: name, StartOffsetMs: -1},
		started: started, isVP8: ext == "ivf" && mime == strings.ToLower(webrtc.MimeTypeVP8),
		out: out, queue: make(chan *rtp.Packet, queue),
	}
	if t.isVP8 {
		t.sizeAt = f
	}
	return t, nil
}

// closeBoth closes a pion writer and then its file (the writers given an io.Writer do
// not close it).
type closeBoth struct {
	rtpWriter
	f io.Closer
}

func (c closeBoth) Close() error { return errors.Join(c.rtpWriter.Close(), c.f.Close()) }

// read moves the packets next returns into the queue until it fails (the track ended),
// then closes the queue. It never waits for the disk: a full queue drops the packet.
func (t *trackRecorder) read(next func() (*rtp.Packet, error)) {
	defer close(t.queue)
	skipping := false // after a drop, video waits for a keyframe
	for {
		pkt, err := next()
		if err != nil {
			return
		}
		t.firstAt.CompareAndSwap(0, time.Now().UnixNano())
		t.packets.Add(1)
		if skipping {
			if !t.isVP8 || !vp8KeyframeStart(pkt.Payload) {
				t.dropped.Add(1)
				continue
			}
			skipping = false
		}
		select {
		case t.queue <- pkt:
		default:
			t.dropped.Add(1)
			skipping = t.isVP8
		}
	}
}

// write empties the queue to the file, then closes it.
func (t *trackRecorder) write() {
	var err error
	for pkt := range t.queue {
		if err == nil && t.sizeAt != nil {
			if w, h, ok := vp8KeyframeSize(pkt.Payload); ok {
				err, t.sizeAt = writeIVFSize(t.sizeAt, w, h), nil
			}
		}
		if err == nil {
			err = t.out.WriteRTP(pkt)
		}
	}
	err = errors.Join(err, t.out.Close())
	t.mu.Lock()
	t.writeErr = err
	t.mu.Unlock()
}

// manifestEntry is the track's manifest entry once write returned.
func (t *trackRecorder) manifestEntry() TrackFile {
	info := t.info
	info.Packets, info.Dropped = t.packets.Load(), t.dropped.Load()
	if at := t.firstAt.Load(); at != 0 {
		info.StartOffsetMs = time.Unix(0, at).Sub(t.started).Milliseconds()
	}
	return info
}

// vp8KeyframeSize is the frame size a VP8 keyframe's first packet states (RFC 6386 §9.1:
// after the 3-byte frame tag and the start code 9d 01 2a, 14 bits of width and of height).
func vp8KeyframeSize(payload []byte) (w, h uint16, ok bool) {
	var p codecs.VP8Packet
	b, err := p.Unmarshal(payload)
	if err != nil || p.S != 1 || p.PID != 0 || len(b) < 10 || b[0]&1 != 0 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint16(b[6:]) & 0x3fff, binary.LittleEndian.Uint16(b[8:]) & 0x3fff, true
}

// writeIVFSize puts the frame size into the IVF header (bytes 12–15), which pion's writer
// fills with 640×480: ffprobe and players that trust the header report that size (D229).
func writeIVFSize(f io.WriterAt, w, h uint16) error {
	var b [4]byte
	binary.LittleEndian.PutUint16(b[0:], w)
	binary.LittleEndian.PutUint16(b[2:], h)
	if _, err := f.WriteAt(b[:], 12); err != nil {
		return fmt.Errorf("write the IVF header's frame size: %w", err)
	}
	return nil
}

// vp8KeyframeStart reports whether payload is the first packet of a VP8 keyframe.
func vp8KeyframeStart(payload []byte) bool {
	var p codecs.VP8Packet
	b, err := p.Unmarshal(payload)
	return err == nil && p.S == 1 && p.PID == 0 && len(b) > 0 && b[0]&1 == 0
}
