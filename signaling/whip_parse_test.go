package signaling

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// whipOffer is a minimal BUNDLEd audio+video offer as a WHIP client sends it.
const whipOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 00:11\r\na=setup:actpass\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 00:11\r\na=setup:actpass\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n"

func TestParseRoomPath(t *testing.T) {
	tests := []struct {
		seg  string
		want protocol.RoomID
		ok   bool
	}{
		{"123", protocol.IntRoom(123), true},
		{"2147483647", protocol.IntRoom(2147483647), true},
		{"s:123", protocol.StrRoom("123"), true},
		{"s:team sync #1", protocol.StrRoom("team sync #1"), true},
		{"s:s:x", protocol.StrRoom("s:x"), true},
		{"0", protocol.RoomID{}, false},
		{"0123", protocol.RoomID{}, false},
		{"-1", protocol.RoomID{}, false},
		{"+1", protocol.RoomID{}, false},
		{"2147483648", protocol.RoomID{}, false},
		{"99999999999999999999", protocol.RoomID{}, false},
		{"abc", protocol.RoomID{}, false},
		{"", protocol.RoomID{}, false},
		{"s:", protocol.RoomID{}, false},
		{"s:a*b", protocol.RoomID{}, false},
		{"s:" + strings.Repeat("x", 65), protocol.RoomID{}, false},
	}
	for _, tt := range tests {
		got, err := parseRoomPath(tt.seg)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseRoomPath(%q) = %v, %v; want %v ok %v", tt.seg, got, err, tt.want, tt.ok)
		}
		if tt.ok && roomPath(got) != tt.seg && !strings.Contains(tt.seg, " ") && !strings.Contains(tt.seg, "#") {
			t.Errorf("roomPath(%v) = %q, want %q", got, roomPath(got), tt.seg)
		}
	}
	if p := roomPath(protocol.StrRoom("team sync #1")); p != "s:team%20sync%20%231" {
		t.Errorf("roomPath of a string room with space and #: %q", p)
	}
}

func TestCheckOffer(t *testing.T) {
	tests := []struct {
		name  string
		offer string
		ufrag string
	}{
		{"audio and video", whipOffer, "abcd"},
		{"not SDP", "hello", ""},
		{"no media", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", ""},
		{"no mid", strings.Replace(whipOffer, "a=mid:1\r\n", "", 1), ""},
		{"two ufrags", strings.Replace(whipOffer, "a=mid:1\r\na=ice-ufrag:abcd", "a=mid:1\r\na=ice-ufrag:efgh", 1), ""},
		{"no ufrag", strings.ReplaceAll(whipOffer, "a=ice-ufrag:abcd\r\n", ""), ""},
	}
	for _, tt := range tests {
		ufrag, err := checkOffer([]byte(tt.offer))
		if ufrag != tt.ufrag || (err == nil) != (tt.ufrag != "") {
			t.Errorf("%s: checkOffer = %q, %v; want ufrag %q", tt.name, ufrag, err, tt.ufrag)
		}
	}
}

func TestParseSDPFrag(t *testing.T) {
	restart := "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" +
		"a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r\n" +
		"a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2\r\na=end-of-candidates\r\n"
	tests := []struct {
		name       string
		frag       string
		ufrag      string
		candidates int
		ok         bool
	}{
		{"RFC 8840 example with credentials", restart, "EsAw", 2, true},
		{"end of candidates only", "a=end-of-candidates\r\n", "", 0, true},
		{"LF line ends", strings.ReplaceAll(restart, "\r\n", "\n"), "EsAw", 2, true},
		{"empty", "", "", 0, true},
		{"not type=value", "garbage\r\n", "", 0, false},
		{"candidate before m-line", "a=candidate:1 1 udp 1 192.0.2.1 9 typ host\r\n", "", 0, false},
		{"ufrag without pwd", "a=ice-ufrag:EsAw\r\n", "", 0, false},
		{"short pwd", "a=ice-ufrag:EsAw\r\na=ice-pwd:short\r\n", "", 0, false},
		{"ufrag with a bad character", "a=ice-ufrag:Es*w\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n", "", 0, false},
		{"two ufrags", "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=ice-ufrag:Other\r\n", "", 0, false},
		{"too many candidates", "m=audio 9 RTP/AVP 0\r\n" + strings.Repeat("a=candidate:1 1 udp 1 192.0.2.1 9 typ host\r\n", maxFragCandidates+1), "", 0, false},
	}
	for _, tt := range tests {
		f, err := parseSDPFrag([]byte(tt.frag))
		if (err == nil) != tt.ok || f.Ufrag != tt.ufrag || len(f.Candidates) != tt.candidates {
			t.Errorf("%s: parseSDPFrag = %+v, %v; want ufrag %q, %d candidates, ok %v", tt.name, f, err, tt.ufrag, tt.candidates, tt.ok)
		}
	}
	f, _ := parseSDPFrag([]byte(restart))
	if c := f.Candidates[1]; c.Mid != "0" || c.MLine != 0 || !strings.HasPrefix(c.Candidate, "candidate:3471623853 ") {
		t.Errorf("second candidate %+v", c)
	}
}

func TestWithICECredentialsAndAnswerFrag(t *testing.T) {
	got := withICECredentials(whipOffer, "wxyz", "ABCDEFGHIJKLMNOPQRSTUVWX")
	if strings.Contains(got, "abcd") || strings.Count(got, "a=ice-ufrag:wxyz\r\n") != 2 || strings.Count(got, "a=ice-pwd:ABCDEFGHIJKLMNOPQRSTUVWX\r\n") != 2 || strings.Contains(got, "a=candidate") {
		t.Fatalf("restart offer:\n%s", got)
	}
	frag, err := answerFrag(whipOffer)
	if err != nil {
		t.Fatal(err)
	}
	want := "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=end-of-candidates\r\n"
	if frag != want {
		t.Fatalf("answer fragment:\n%q\nwant\n%q", frag, want)
	}
	if f, err := parseSDPFrag([]byte(frag)); err != nil || f.Ufrag != "abcd" || len(f.Candidates) != 1 {
		t.Fatalf("the answer fragment does not parse back: %+v %v", f, err)
	}
}

func TestICEServerLinks(t *testing.T) {
	servers := func(user string, _ time.Time) []protocol.ICEServer {
		return []protocol.ICEServer{{URLs: []string{"turn:192.0.2.1:3478?transport=udp", "turn:192.0.2.1:3478?transport=tcp"}, Username: "1700000000:" + user, Credential: `a"b`}, {URLs: []string{"stun:192.0.2.1:3478"}}}
	}
	got := iceServerLinks(servers, "obs", time.Now())
	want := []string{
		`<turn:192.0.2.1:3478?transport=udp>; rel="ice-server"; username="1700000000:obs"; credential="a\"b"; credential-type="password"`,
		`<turn:192.0.2.1:3478?transport=tcp>; rel="ice-server"; username="1700000000:obs"; credential="a\"b"; credential-type="password"`,
		`<stun:192.0.2.1:3478>; rel="ice-server"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("links:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if iceServerLinks(nil, "obs", time.Now()) != nil {
		t.Fatal("links without ICE servers")
	}
}

func TestVerifyGrantAlone(t *testing.T) {
	v := testVerifier(t)
	valid := mintTestGrant(t, "alice", protocol.StrRoom("123"), publishOnly)
	h, err := v.verifyGrantAlone(valid, testNow)
	if err != nil || h.app != testApp || h.userID != "alice" || h.room != protocol.StrRoom("123") || h.rights != publishOnly {
		t.Fatalf("valid grant: %+v %v", h, err)
	}
	userSig, _ := MintUserSig(testApp, []byte(testSecret), "alice", time.Hour, testNow)
	for _, bad := range []string{"", "x.y.z", userSig, valid[:len(valid)-2] + "xx", strings.Repeat("a", protocol.MaxRoomGrantBytes+1)} {
		if _, err := v.verifyGrantAlone(bad, testNow); !errors.Is(err, ErrRoomGrantInvalid) {
			t.Errorf("grant %.20q: %v, want ErrRoomGrantInvalid", bad, err)
		}
	}
	if _, err := v.verifyGrantAlone(valid, testNow.Add(2*time.Hour)); !errors.Is(err, ErrRoomGrantExpired) {
		t.Errorf("expired grant: %v", err)
	}
}

func FuzzParseRoomPath(f *testing.F) {
	for _, s := range []string{"123", "s:123", "s:team sync", "0", "2147483648", "s:", "s:\xff", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seg string) {
		id, err := parseRoomPath(seg)
		if err != nil {
			return
		}
		if !protocol.ValidRoomID(id) {
			t.Fatalf("parseRoomPath(%q) = invalid %v", seg, id)
		}
		if id.Int != 0 && roomPath(id) != seg {
			t.Fatalf("integer room %q renders as %q", seg, roomPath(id))
		}
	})
}

func FuzzParseSDPFrag(f *testing.F) {
	f.Add([]byte("a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 1 192.0.2.1 9 typ host\r\na=end-of-candidates\r\n"))
	f.Add([]byte("a=end-of-candidates\r\n"))
	f.Add([]byte("m=\nm=\na=candidate:\n"))
	f.Add([]byte("x"))
	f.Add([]byte("m=\na=candidate:\r0")) // a CR inside a line
	f.Fuzz(func(t *testing.T, body []byte) {
		frag, err := parseSDPFrag(body)
		if err != nil {
			return
		}
		if len(frag.Candidates) > maxFragCandidates || (frag.Ufrag == "") != (frag.Pwd == "") {
			t.Fatalf("accepted %+v", frag)
		}
		for _, c := range frag.Candidates {
			if !strings.HasPrefix(c.Candidate, "candidate:") || strings.ContainsAny(c.Candidate, "\r\n") {
				t.Fatalf("candidate %q", c.Candidate)
			}
		}
	})
}

func FuzzCheckOffer(f *testing.F) {
	f.Add([]byte(whipOffer))
	f.Add([]byte("v=0\r\n"))
	f.Add([]byte("v= o= 0 0 IN IP4 \ns=0\nt=0\nm=audio 0 UDP 0\na=mid:00\na=ice-ufrag\n")) // an empty ufrag
	f.Add([]byte(strings.ReplaceAll(whipOffer, "\r\n", "\n")))
	f.Add([]byte(whipOffer + whipOffer[strings.Index(whipOffer, "m="):])) // its sections twice
	f.Fuzz(func(t *testing.T, body []byte) {
		ufrag, err := checkOffer(body)
		if err == nil && ufrag == "" {
			t.Fatal("accepted an offer without ICE credentials")
		}
		if err == nil {
			if _, err := answerFrag(string(body)); err != nil {
				t.Fatalf("an accepted offer does not render as a fragment: %v", err)
			}
			var desc sdp.SessionDescription
			if desc.UnmarshalString(string(body)) != nil || len(desc.MediaDescriptions) > maxOfferSections {
				t.Fatalf("accepted an offer of more than %d sections", maxOfferSections)
			}
		}
	})
}
