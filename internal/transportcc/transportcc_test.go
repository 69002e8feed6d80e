package transportcc

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
)

// TestExtensionID: the first transport-cc extension with an ID 1–255 counts; other
// extensions and IDs a header cannot carry do not.
func TestExtensionID(t *testing.T) {
	ext := func(uri string, id int) interceptor.RTPHeaderExtension {
		return interceptor.RTPHeaderExtension{URI: uri, ID: id}
	}
	tests := []struct {
		name string
		exts []interceptor.RTPHeaderExtension
		want uint8
	}{
		{"none", nil, 0},
		{"only others", []interceptor.RTPHeaderExtension{ext(sdp.SDESMidURI, 1), ext(sdp.ABSSendTimeURI, 2)}, 0},
		{"after others", []interceptor.RTPHeaderExtension{ext(sdp.SDESMidURI, 1), ext(sdp.TransportCCURI, 5)}, 5},
		{"two-byte ID", []interceptor.RTPHeaderExtension{ext(sdp.TransportCCURI, 200)}, 200},
		{"the first of two", []interceptor.RTPHeaderExtension{ext(sdp.TransportCCURI, 3), ext(sdp.TransportCCURI, 4)}, 3},
		{"ID 0 skipped", []interceptor.RTPHeaderExtension{ext(sdp.TransportCCURI, 0), ext(sdp.TransportCCURI, 7)}, 7},
		{"ID 256 skipped", []interceptor.RTPHeaderExtension{ext(sdp.TransportCCURI, 256)}, 0},
		{"negative ID skipped", []interceptor.RTPHeaderExtension{ext(sdp.TransportCCURI, -1)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExtensionID(&interceptor.StreamInfo{RTPHeaderExtensions: tt.exts}); got != tt.want {
				t.Fatalf("ExtensionID = %d, want %d", got, tt.want)
			}
		})
	}
}
