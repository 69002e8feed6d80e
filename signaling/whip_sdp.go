package signaling

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Parsers of what a WHIP/WHEP client sends besides its grant: the RoomId in the URL path,
// the SDP offer (checked before pion sees it) and the trickle-ice-sdpfrag of a PATCH
// (RFC 8840). Each has a fuzz target (whip_parse_test.go; the headers' in whip_fuzz_test.go).

// maxFragCandidates bounds the candidates of one PATCH (the media plane caps them per
// PeerConnection too: rtc.max_remote_candidates).
const maxFragCandidates = 64

// parseRoomPath reads the RoomId of a WHIP/WHEP URL path segment (already
// percent-decoded): digits without a leading zero are the integer room 1..2147483647,
// "s:" followed by the name is the string room (so /whip/123 and /whip/s:123 are the
// rooms 123 and "123"). The id must be valid (protocol.ValidRoomID).
func parseRoomPath(seg string) (protocol.RoomID, error) {
	var id protocol.RoomID
	if name, ok := strings.CutPrefix(seg, "s:"); ok {
		id = protocol.StrRoom(name)
	} else {
		if seg == "" || seg[0] < '1' || seg[0] > '9' || len(seg) > 10 {
			return protocol.RoomID{}, fmt.Errorf("room %q: an integer room is 1..2147483647 in digits, a string room is s: and its name", seg)
		}
		n, err := strconv.ParseInt(seg, 10, 64)
		if err != nil {
			return protocol.RoomID{}, fmt.Errorf("room %q: an integer room is 1..2147483647 in digits, a string room is s: and its name", seg)
		}
		id = protocol.IntRoom(n)
	}
	if _, err := roomIDFromWire(id); err != nil {
		return protocol.RoomID{}, err
	}
	return id, nil
}

// roomPath is the path segment of a RoomId (parseRoomPath's inverse), percent-encoded.
func roomPath(id protocol.RoomID) string {
	if id.Int != 0 {
		return strconv.FormatInt(id.Int, 10)
	}
	return "s:" + url.PathEscape(id.Str)
}

// maxOfferSections bounds the m-sections of a WHIP or WHEP offer: one audio, one video
// (simulcast layers are rids of the one video section) and room for a data channel.
const maxOfferSections = 4

// checkOffer parses an SDP offer and checks that it has at least one audio or video
// section and at most one of each (every section would be a track the server sets up and
// announces to the room), at most maxOfferSections in all, each section with a mid
// (BUNDLE needs them) and one ICE username fragment for all of them; it returns that
// ufrag.
func checkOffer(body []byte) (ufrag string, err error) {
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(string(body)); err != nil {
		return "", fmt.Errorf("not an SDP offer: %v", err)
	}
	if n := len(desc.MediaDescriptions); n > maxOfferSections {
		return "", fmt.Errorf("SDP offer: %d m-sections, at most %d (one audio, one video)", n, maxOfferSections)
	}
	media := 0
	kinds := map[string]int{}
	for i, m := range desc.MediaDescriptions {
		switch kind := m.MediaName.Media; kind {
		case "audio", "video":
			media++
			if kinds[kind]++; kinds[kind] > 1 {
				return "", fmt.Errorf("SDP offer: m-section %d is a second %s section, at most one audio and one video", i, kind)
			}
		}
		if _, ok := m.Attribute("mid"); !ok {
			return "", fmt.Errorf("SDP offer: m-section %d has no a=mid", i)
		}
		u, _ := attribute(&desc, m, "ice-ufrag")
		if err := setCredential(&ufrag, u, 4); err != nil {
			return "", fmt.Errorf("SDP offer: m-section %d: a=ice-ufrag %v", i, err)
		}
	}
	if media == 0 {
		return "", errors.New("SDP offer: no audio or video section")
	}
	return ufrag, nil
}

// attribute is the value of key in m, else at the session level.
func attribute(desc *sdp.SessionDescription, m *sdp.MediaDescription, key string) (string, bool) {
	if v, ok := m.Attribute(key); ok {
		return v, true
	}
	return desc.Attribute(key)
}

// sdpFrag is a parsed application/trickle-ice-sdpfrag body.
type sdpFrag struct {
	Ufrag, Pwd string
	Candidates []fragCandidate
}

// fragCandidate is one a=candidate line and the m-section it belongs to.
type fragCandidate struct {
	Mid       string // "" when the section has no a=mid
	MLine     uint16 // index of its m-section
	Candidate string // "candidate:..." (without "a=")
}

// parseSDPFrag parses a trickle-ice-sdpfrag (RFC 8840): optional ICE credentials (one
// ufrag and password for the whole fragment), m-lines, a=mid and a=candidate lines;
// a=end-of-candidates, a=ice-options and a=group are accepted and ignored, as are other
// attribute lines. Lines must be "x=..."; a candidate must follow an m-line; at most
// maxFragCandidates candidates.
func parseSDPFrag(body []byte) (sdpFrag, error) {
	var f sdpFrag
	mline := -1
	mid := ""
	for n, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' || strings.ContainsFunc(line, isControl) {
			return sdpFrag{}, fmt.Errorf("sdpfrag line %d: not a type=value line of printable text", n+1)
		}
		switch {
		case line[0] == 'm':
			mline++
			mid = ""
		case strings.HasPrefix(line, "a=mid:"):
			mid = line[len("a=mid:"):]
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			if err := setCredential(&f.Ufrag, line[len("a=ice-ufrag:"):], 4); err != nil {
				return sdpFrag{}, fmt.Errorf("sdpfrag line %d: ice-ufrag %v", n+1, err)
			}
		case strings.HasPrefix(line, "a=ice-pwd:"):
			if err := setCredential(&f.Pwd, line[len("a=ice-pwd:"):], 22); err != nil {
				return sdpFrag{}, fmt.Errorf("sdpfrag line %d: ice-pwd %v", n+1, err)
			}
		case strings.HasPrefix(line, "a=candidate:"):
			if mline < 0 {
				return sdpFrag{}, fmt.Errorf("sdpfrag line %d: a candidate before any m-line", n+1)
			}
			if len(f.Candidates) == maxFragCandidates {
				return sdpFrag{}, fmt.Errorf("sdpfrag: more than %d candidates", maxFragCandidates)
			}
			if mline > 0xffff {
				return sdpFrag{}, fmt.Errorf("sdpfrag line %d: too many m-lines", n+1)
			}
			f.Candidates = append(f.Candidates, fragCandidate{Mid: mid, MLine: uint16(mline), Candidate: line[len("a="):]})
		}
	}
	if (f.Ufrag == "") != (f.Pwd == "") {
		return sdpFrag{}, errors.New("sdpfrag: ice-ufrag and ice-pwd come together")
	}
	return f, nil
}

// isControl reports an ASCII control character (tab aside).
func isControl(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }

// setCredential stores an ICE ufrag or password (RFC 8839: ice-char = ALPHA / DIGIT /
// "+" / "/", min..256 of them); a second, different value is an error.
func setCredential(dst *string, v string, minLen int) error {
	if len(v) < minLen || len(v) > 256 {
		return fmt.Errorf("must be %d..256 characters", minLen)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return fmt.Errorf("has a character outside ALPHA / DIGIT / + / at byte %d", i)
		}
	}
	if *dst != "" && *dst != v {
		return errors.New("differs between sections")
	}
	*dst = v
	return nil
}

// withICECredentials is offer with every a=ice-ufrag and a=ice-pwd replaced by ufrag
// and pwd and without candidates: the offer of an ICE restart (RFC 9725 §4.3.2), whose
// candidates come in the fragment.
func withICECredentials(offer, ufrag, pwd string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(offer, "\n") {
		bare := strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(bare, "a=ice-ufrag:"):
			line = "a=ice-ufrag:" + ufrag + "\r\n"
		case strings.HasPrefix(bare, "a=ice-pwd:"):
			line = "a=ice-pwd:" + pwd + "\r\n"
		case strings.HasPrefix(bare, "a=candidate:"), bare == "a=end-of-candidates":
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// answerFrag is the trickle-ice-sdpfrag of an answer (the server's side of an ICE
// restart): its ICE credentials, and per m-section its mid and candidates.
func answerFrag(answer string) (string, error) {
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(answer); err != nil {
		return "", fmt.Errorf("answer fragment: %w", err)
	}
	var b strings.Builder
	for i, m := range desc.MediaDescriptions {
		if i == 0 {
			ufrag, _ := attribute(&desc, m, "ice-ufrag")
			pwd, _ := attribute(&desc, m, "ice-pwd")
			fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ufrag, pwd)
		}
		fmt.Fprintf(&b, "m=%s 9 %s %s\r\n", m.MediaName.Media, strings.Join(m.MediaName.Protos, "/"), strings.Join(m.MediaName.Formats, " "))
		if mid, ok := m.Attribute("mid"); ok {
			fmt.Fprintf(&b, "a=mid:%s\r\n", mid)
		}
		for _, a := range m.Attributes {
			if a.Key == "candidate" {
				fmt.Fprintf(&b, "a=candidate:%s\r\n", a.Value)
			}
		}
		b.WriteString("a=end-of-candidates\r\n")
	}
	return b.String(), nil
}
