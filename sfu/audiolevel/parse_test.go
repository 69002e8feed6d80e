package audiolevel

import (
	"testing"

	"github.com/pion/rtp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		payload   []byte
		wantLevel uint8
		wantVoice bool
		wantOK    bool
	}{
		{name: "empty", payload: nil, wantOK: false},
		{name: "loudest with voice", payload: []byte{0x80}, wantLevel: 0, wantVoice: true, wantOK: true},
		{name: "silence without voice", payload: []byte{0x7f}, wantLevel: 127, wantVoice: false, wantOK: true},
		{name: "-20 dBov voice", payload: []byte{0x80 | 20}, wantLevel: 20, wantVoice: true, wantOK: true},
		{name: "-45 dBov no voice", payload: []byte{45}, wantLevel: 45, wantVoice: false, wantOK: true},
		{name: "padded to four bytes", payload: []byte{0x80 | 30, 0, 0, 0}, wantLevel: 30, wantVoice: true, wantOK: true},
		{name: "too long", payload: []byte{30, 0, 0, 0, 0}, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			level, voice, ok := Parse(tt.payload)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if level != tt.wantLevel || voice != tt.wantVoice {
				t.Fatalf("Parse(%x) = level %d voice %v, want %d %v", tt.payload, level, voice, tt.wantLevel, tt.wantVoice)
			}
		})
	}
}

// marshalledHeader builds an RTP packet carrying the given one-byte header
// extensions, marshals it and parses it back, as the packet path sees it.
func marshalledHeader(t testing.TB, extensions map[uint8][]byte) *rtp.Header {
	t.Helper()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 7, Timestamp: 960, SSRC: 1234}, Payload: []byte{1, 2, 3}}
	for id, payload := range extensions {
		if err := pkt.Header.SetExtension(id, payload); err != nil {
			t.Fatalf("SetExtension(%d): %v", id, err)
		}
	}
	raw, err := pkt.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var parsed rtp.Packet
	if err := parsed.Unmarshal(raw); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	return &parsed.Header
}

func TestFromHeader(t *testing.T) {
	tests := []struct {
		name       string
		extensions map[uint8][]byte
		id         uint8
		wantLevel  uint8
		wantVoice  bool
		wantOK     bool
	}{
		{name: "no extensions", id: 1, wantOK: false},
		{name: "other extension only", extensions: map[uint8][]byte{3: {1, 2, 3}}, id: 1, wantOK: false},
		{name: "audio level among others", extensions: map[uint8][]byte{1: {0x80 | 25}, 3: {1, 2, 3}}, id: 1, wantLevel: 25, wantVoice: true, wantOK: true},
		{name: "silence", extensions: map[uint8][]byte{5: {127}}, id: 5, wantLevel: 127, wantOK: true},
		{name: "id zero is never an extension", extensions: map[uint8][]byte{1: {10}}, id: 0, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := marshalledHeader(t, tt.extensions)
			level, voice, ok := FromHeader(h, tt.id)
			if ok != tt.wantOK || (ok && (level != tt.wantLevel || voice != tt.wantVoice)) {
				t.Fatalf("FromHeader = %d %v %v, want %d %v %v", level, voice, ok, tt.wantLevel, tt.wantVoice, tt.wantOK)
			}
		})
	}
	if _, _, ok := FromHeader(nil, 1); ok {
		t.Fatal("FromHeader(nil) reported ok")
	}
}

func TestParseAndFromHeaderDoNotAllocate(t *testing.T) {
	h := marshalledHeader(t, map[uint8][]byte{1: {0x80 | 25}, 3: {1, 2, 3}})
	payload := []byte{0x80 | 40}
	var sink uint8
	allocs := testing.AllocsPerRun(1000, func() {
		l1, _, _ := Parse(payload)
		l2, _, _ := FromHeader(h, 1)
		sink += l1 + l2
	})
	if allocs != 0 {
		t.Fatalf("Parse+FromHeader allocate %.1f times per call, want 0", allocs)
	}
	_ = sink
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Add([]byte{0x7f})
	f.Add([]byte{0x94, 0, 0, 0})
	f.Add([]byte{1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		level, voice, ok := Parse(b)
		if !ok {
			if len(b) >= 1 && len(b) <= maxPayload {
				t.Fatalf("Parse rejected a %d-byte payload", len(b))
			}
			return
		}
		if len(b) == 0 || len(b) > maxPayload {
			t.Fatalf("Parse accepted a %d-byte payload", len(b))
		}
		if level > SilenceLevel {
			t.Fatalf("level %d out of range", level)
		}
		if level != b[0]&0x7f || voice != (b[0]&0x80 != 0) {
			t.Fatalf("Parse(%x) = %d %v", b, level, voice)
		}
	})
}
