package web

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserWithStartBitrate runs the SDK's withStartBitrate (peers.js) in Chromium on
// SDP sections: every video codec of a remote description gets x-google-start-bitrate,
// in its fmtp line or a new one after its rtpmap; audio, rtx and a hint already there are
// left alone; 0 changes nothing.
func TestBrowserWithStartBitrate(t *testing.T) {
	srv := startTestServer(t, true)
	b := newBrowsers(t, "page")[0]
	b.do(chromedp.Navigate(srv.URL + "/"))
	tests := []struct {
		name string
		kbps int
		in   []string
		want []string
	}{
		{
			name: "VP8 without fmtp gets one, rtx untouched",
			kbps: 1000,
			in:   []string{"v=0", "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "a=rtpmap:96 VP8/90000", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96", ""},
			want: []string{"v=0", "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "a=rtpmap:96 VP8/90000", "a=fmtp:96 x-google-start-bitrate=1000", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96", ""},
		},
		{
			name: "H264 fmtp extended, audio untouched",
			kbps: 800,
			in:   []string{"v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10", "m=video 9 UDP/TLS/RTP/SAVPF 102", "a=rtpmap:102 H264/90000", "a=fmtp:102 profile-level-id=42e01f", ""},
			want: []string{"v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10", "m=video 9 UDP/TLS/RTP/SAVPF 102", "a=rtpmap:102 H264/90000", "a=fmtp:102 profile-level-id=42e01f;x-google-start-bitrate=800", ""},
		},
		{
			name: "a hint already there is kept",
			kbps: 1000,
			in:   []string{"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000", "a=fmtp:96 x-google-start-bitrate=500", ""},
			want: []string{"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000", "a=fmtp:96 x-google-start-bitrate=500", ""},
		},
		{
			name: "two video sections",
			kbps: 1000,
			in:   []string{"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000", "m=video 9 UDP/TLS/RTP/SAVPF 98", "a=rtpmap:98 VP9/90000", "a=mid:2", ""},
			want: []string{"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000", "a=fmtp:96 x-google-start-bitrate=1000", "m=video 9 UDP/TLS/RTP/SAVPF 98", "a=rtpmap:98 VP9/90000", "a=fmtp:98 x-google-start-bitrate=1000", "a=mid:2", ""},
		},
		{
			name: "0 changes nothing",
			kbps: 0,
			in:   []string{"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000", ""},
			want: []string{"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := json.Marshal(strings.Join(tt.in, "\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			got := eval[string](b, `import('/sdk/peers.js').then((m) => m.withStartBitrate(`+string(in)+`, `+itoa(tt.kbps)+`))`)
			if want := strings.Join(tt.want, "\r\n"); got != want {
				t.Errorf("withStartBitrate(%d):\n%q\nwant\n%q", tt.kbps, got, want)
			}
		})
	}
}
