package sfu

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// The transport-wide sequence number counts across all streams of a PeerConnection; a
// stream that did not negotiate the extension gets none.
func TestTWCCNumberingIsTransportWide(t *testing.T) {
	i, err := twccNumberingFactory{}.NewInterceptor("pc")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	record := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		raw := h.GetExtension(5)
		if raw == nil {
			got = append(got, -1)
			return 0, nil
		}
		var ext rtp.TransportCCExtension
		if err := ext.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		got = append(got, int(ext.TransportSequence))
		return 0, nil
	})
	withTWCC := &interceptor.StreamInfo{RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}}}
	a, b := i.BindLocalStream(withTWCC, record), i.BindLocalStream(withTWCC, record)
	none := i.BindLocalStream(&interceptor.StreamInfo{}, record)
	for _, w := range []interceptor.RTPWriter{a, b, none, a, b} {
		h := rtp.Header{Version: 2}
		if _, err := w.Write(&h, []byte{1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := []int{0, 1, -1, 2, 3}
	for k := range want {
		if k >= len(got) || got[k] != want[k] {
			t.Fatalf("transport-wide numbers %v, want %v", got, want)
		}
	}
}
