package recording

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
)

// countingWriter counts what reaches the disk.
type countingWriter struct{ written atomic.Int64 }

func (w *countingWriter) WriteRTP(*rtp.Packet) error { w.written.Add(1); return nil }
func (w *countingWriter) Close() error               { return nil }

// vp8Payload is a VP8 RTP payload: a partition start (S=1, PID 0) whose frame tag says
// keyframe or inter frame.
func vp8Payload(key bool) []byte {
	tag := byte(0x10)
	if !key {
		tag |= 1
	}
	return []byte{0x10, tag, 0, 0, 0x9d, 0x01, 0x2a}
}

// TestReadNeverWaitsForTheDisk: with nothing writing (a stuck disk) reading goes on; the
// packets beyond the queue are dropped and counted; after a drop, video resumes at a
// keyframe only (an inter frame would not decode). drainAt frees room in the queue (the
// disk catching up) before the packet of that index.
func TestReadNeverWaitsForTheDisk(t *testing.T) {
	inter, key := vp8Payload(false), vp8Payload(true)
	tests := []struct {
		name        string
		vp8         bool
		payloads    [][]byte
		drainAt     int // -1: never
		wantDropped uint64
	}{
		{"audio drops what does not fit", false, repeat([]byte{0xf8}, 40), -1, 24},
		{"video drops until a keyframe", true, append(repeat(inter, 20), key, inter), 17, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &trackRecorder{queue: make(chan *rtp.Packet, 16), isVP8: tt.vp8, started: time.Now()}
			i, drained := 0, 0
			tr.read(func() (*rtp.Packet, error) {
				if i == len(tt.payloads) {
					return nil, io.EOF
				}
				if i == tt.drainAt {
					for range 8 {
						<-tr.queue
						drained++
					}
				}
				i++
				return &rtp.Packet{Payload: tt.payloads[i-1]}, nil
			})
			if got := tr.dropped.Load(); got != tt.wantDropped {
				t.Fatalf("dropped %d, want %d", got, tt.wantDropped)
			}
			w := &countingWriter{}
			tr.out = w
			tr.write()
			if want := len(tt.payloads) - int(tt.wantDropped) - drained; int(w.written.Load()) != want {
				t.Fatalf("written %d, want %d", w.written.Load(), want)
			}
			if e := tr.manifestEntry(); e.Packets != uint64(len(tt.payloads)) || e.Dropped != tt.wantDropped || e.StartOffsetMs < 0 {
				t.Fatalf("manifest entry %+v", e)
			}
		})
	}
}

func repeat(b []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		key  string
	}{
		{"defaults", DefaultConfig(), ""},
		{"tiny queue", Config{QueuePackets: 1, MaxRecordings: 1}, "recording.queue_packets"},
		{"no recordings", Config{QueuePackets: 64}, "recording.max_recordings"},
		{"calls without a directory", Config{QueuePackets: 64, MaxRecordings: 1, Calls: true}, "recording.calls"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != (tt.key == "") || (err != nil && !strings.Contains(err.Error(), tt.key)) {
			t.Errorf("%s: %v, want an error naming %q", tt.name, err, tt.key)
		}
	}
}

// TestIVFHeaderHasTheKeyframeSize: a recorded VP8 track's IVF header states the size of its
// first keyframe, not pion's 640×480 (ffprobe reported 640×480 for a 320×240 call, D229);
// packets before it and later keyframes of another size leave it.
func TestIVFHeaderHasTheKeyframeSize(t *testing.T) {
	sized := func(w, h uint16) []byte {
		p := append(vp8Payload(true), 0, 0, 0, 0)
		binary.LittleEndian.PutUint16(p[7:], w)
		binary.LittleEndian.PutUint16(p[9:], h)
		return p
	}
	tests := []struct {
		name         string
		payloads     [][]byte
		wantW, wantH uint16
	}{
		{"first keyframe", [][]byte{vp8Payload(false), sized(320, 240), vp8Payload(false), sized(1280, 720)}, 320, 240},
		{"scaling bits ignored", [][]byte{sized(320|0xc000, 180|0x4000)}, 320, 180},
		{"no keyframe", [][]byte{vp8Payload(false), vp8Payload(true)}, 640, 480}, // a start code too short to hold a size
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "v.ivf")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			w, err := ivfwriter.NewWith(f, ivfwriter.WithCodec(webrtc.MimeTypeVP8), ivfwriter.WithFrameRate(1, 90000), ivfwriter.WithDirectPTS())
			if err != nil {
				t.Fatal(err)
			}
			tr := &trackRecorder{queue: make(chan *rtp.Packet, len(tt.payloads)), isVP8: true, out: closeBoth{w, f}, sizeAt: f}
			for i, p := range tt.payloads {
				tr.queue <- &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i) * 3000, Marker: true}, Payload: p}
			}
			close(tr.queue)
			tr.write()
			b, err := os.ReadFile(path)
			if err != nil || len(b) < 32 {
				t.Fatalf("read %s: %d bytes, %v", path, len(b), err)
			}
			if gw, gh := binary.LittleEndian.Uint16(b[12:]), binary.LittleEndian.Uint16(b[14:]); gw != tt.wantW || gh != tt.wantH {
				t.Fatalf("IVF header size %dx%d, want %dx%d", gw, gh, tt.wantW, tt.wantH)
			}
		})
	}
}
