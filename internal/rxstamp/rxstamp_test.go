package rxstamp

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"
)

// TestTimeParsesControlMessages: the SCM_TIMESTAMPNS message is found after
// another control message; truncated or foreign messages give 0.
func TestTimeParsesControlMessages(t *testing.T) {
	cmsg := func(level, typ int32, data []byte) []byte {
		b := make([]byte, 16, 16+len(data)+8)
		binary.NativeEndian.PutUint64(b, uint64(16+len(data)))
		binary.NativeEndian.PutUint32(b[8:], uint32(level))
		binary.NativeEndian.PutUint32(b[12:], uint32(typ))
		b = append(b, data...)
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		return b
	}
	ts := make([]byte, 16)
	binary.NativeEndian.PutUint64(ts, 1_700_000_000)
	binary.NativeEndian.PutUint64(ts[8:], 123)
	want := int64(1_700_000_000)*int64(time.Second) + 123
	stamp := cmsg(SolSocket, ScmTimestampNS, ts)
	other := cmsg(0, 8, []byte{1, 2, 3, 4}) // IPPROTO_IP, IP_TOS-like
	tests := []struct {
		name string
		oob  []byte
		want int64
	}{
		{"timestamp", stamp, want},
		{"after another message", append(append([]byte{}, other...), stamp...), want},
		{"none", other, 0},
		{"empty", nil, 0},
		{"truncated", stamp[:20], 0},
		{"length beyond the buffer", func() []byte { b := append([]byte{}, stamp...); binary.NativeEndian.PutUint64(b, 1000); return b }(), 0},
	}
	for _, tc := range tests {
		if got := Time(tc.oob); got != tc.want && runtime.GOOS == "linux" {
			t.Errorf("%s: Time = %d, want %d", tc.name, got, tc.want)
		}
	}
}
