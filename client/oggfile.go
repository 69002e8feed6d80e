package client

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// Ogg page layout (RFC 3533 §6): capture pattern "OggS", version, header type (0x01: the
// page continues a packet), granule position (8), serial (4), page sequence (4), CRC (4),
// segment count (1), then the segment table (one lacing value per segment) and the
// segments. pion's oggreader checks the capture pattern and the CRC and returns a page's
// payload; the loader splits it into packets with the lacing values: a value below 255
// ends a packet, and a packet whose last value is 255 goes on in the next page.
const (
	oggCapturePattern     = "OggS"
	oggPageHeaderLen      = 27
	oggHeaderTypeOffset   = 5
	oggSerialOffset       = 14
	oggSegmentCountOffset = 26
	oggContinued          = 0x01
	oggLacingMore         = 255
	opusTagsMagic         = "OpusTags"
	opusClockRate         = 48000
	maxOpusPacketSamples  = opusClockRate * 120 / 1000 // RFC 6716 §3.2.5
)

// OggOpus is an Opus Ogg file loaded into memory (LoadOgg, ParseOgg). It is immutable, so
// any number of Publishers can send it at once (PublisherConfig.AudioFile).
type OggOpus struct {
	path     string
	channels int
	packets  []mediaFrame // ticks at 48 kHz, the Opus RTP clock
	period   int64        // 48 kHz ticks of one pass: every packet's duration summed
}

// Path is the file the audio was loaded from ("" for ParseOgg).
func (a *OggOpus) Path() string { return a.path }

// Channels is the channel count in the OpusHead (1 or 2).
func (a *OggOpus) Channels() int { return a.channels }

// Packets is the number of Opus packets in one pass of the file.
func (a *OggOpus) Packets() int { return len(a.packets) }

// Duration is one pass through the file, after which it loops.
func (a *OggOpus) Duration() time.Duration { return ticksToDuration(a.period, opusClockRate) }

// LoadOgg reads an Opus Ogg file (ParseOgg); errors wrap ErrMediaFile and name the path.
func LoadOgg(path string) (*OggOpus, error) {
	a, err := loadMediaFile(path, "audio", ParseOgg)
	if err != nil {
		return nil, err
	}
	a.path = path
	return a, nil
}

// ParseOgg parses the bytes of an Ogg file holding one Opus stream (RFC 7845): an
// OpusHead of channel mapping family 0 (mono or stereo, what WebRTC's Opus carries), the
// OpusTags, then audio packets, each at most MaxPayloadSize bytes. Each packet lasts what
// its TOC byte says (RFC 6716 §3.1: frame size times frame count), which is how far the
// granule position advances. Errors wrap ErrMediaFile.
func ParseOgg(data []byte) (*OggOpus, error) {
	rd := bytes.NewReader(data)
	r, head, err := oggreader.NewWith(rd)
	if err != nil {
		return nil, fmt.Errorf("not an Ogg Opus file (%v): %w", err, ErrMediaFile)
	}
	if head.ChannelMap != 0 {
		return nil, fmt.Errorf("Opus channel mapping family %d (%d channels): WebRTC's Opus is mono or stereo (family 0): %w",
			head.ChannelMap, head.Channels, ErrMediaFile)
	}
	serial := binary.LittleEndian.Uint32(data[oggSerialOffset:])
	p := oggPacketizer{audio: &OggOpus{channels: int(head.Channels)}}
	for page := 1; rd.Len() > 0; page++ {
		start := len(data) - rd.Len()
		payload, hdr, err := r.ParseNextPage()
		if err != nil {
			return nil, fmt.Errorf("Ogg page %d: %v: %w", page, err, ErrMediaFile)
		}
		if hdr.Serial != serial {
			return nil, fmt.Errorf("Ogg page %d belongs to a second stream (serial %#x, the first is %#x): %w", page, hdr.Serial, serial, ErrMediaFile)
		}
		raw := data[start:]
		if string(raw[:4]) != oggCapturePattern {
			return nil, fmt.Errorf("Ogg page %d does not start with %q: %w", page, oggCapturePattern, ErrMediaFile)
		}
		lacing := raw[oggPageHeaderLen : oggPageHeaderLen+int(raw[oggSegmentCountOffset])]
		if err := p.page(raw[oggHeaderTypeOffset]&oggContinued != 0, lacing, payload); err != nil {
			return nil, fmt.Errorf("Ogg page %d: %w", page, err)
		}
	}
	a := p.audio
	switch {
	case p.open:
		return nil, fmt.Errorf("the last Opus packet is unfinished (file truncated?): %w", ErrMediaFile)
	case !p.sawTags:
		return nil, fmt.Errorf("no OpusTags header after the OpusHead: %w", ErrMediaFile)
	case len(a.packets) == 0:
		return nil, fmt.Errorf("no Opus packets: %w", ErrMediaFile)
	}
	a.period = p.ticks
	return a, nil
}

// oggPacketizer reassembles the packets of one Ogg stream's pages (after the OpusHead).
type oggPacketizer struct {
	audio   *OggOpus
	packet  []byte
	open    bool // packet goes on in the next page
	sawTags bool
	ticks   int64 // 48 kHz time of the next packet
}

// page adds one page's segments; continued is the page's header flag.
func (p *oggPacketizer) page(continued bool, lacing, payload []byte) error {
	if continued != p.open {
		if continued {
			return fmt.Errorf("continues a packet no page started: %w", ErrMediaFile)
		}
		return fmt.Errorf("starts a packet while the previous page's is unfinished: %w", ErrMediaFile)
	}
	off := 0
	for _, l := range lacing {
		p.packet = append(p.packet, payload[off:off+int(l)]...)
		off += int(l)
		p.open = l == oggLacingMore
		if p.open {
			continue
		}
		packet := p.packet
		p.packet = nil
		if err := p.add(packet); err != nil {
			return err
		}
	}
	return nil
}

// add takes one complete packet: the OpusTags first, then audio.
func (p *oggPacketizer) add(packet []byte) error {
	if !p.sawTags {
		if !bytes.HasPrefix(packet, []byte(opusTagsMagic)) {
			return fmt.Errorf("the packet after the OpusHead is not OpusTags: %w", ErrMediaFile)
		}
		p.sawTags = true
		return nil
	}
	index := len(p.audio.packets)
	if len(packet) > MaxPayloadSize {
		return fmt.Errorf("Opus packet %d of %d bytes, more than an RTP payload may take (%d): %w", index, len(packet), MaxPayloadSize, ErrMediaFile)
	}
	samples, err := opusPacketSamples(packet)
	if err != nil {
		return fmt.Errorf("Opus packet %d: %v: %w", index, err, ErrMediaFile)
	}
	p.audio.packets = append(p.audio.packets, mediaFrame{data: packet, ticks: p.ticks})
	p.ticks += samples
	return nil
}

// opusPacketSamples is how many 48 kHz samples an Opus packet lasts (RFC 6716 §3.1): the
// TOC byte's configuration gives the frame size, its code the frame count (code 3: the
// next byte's low six bits).
func opusPacketSamples(packet []byte) (int64, error) {
	if len(packet) == 0 {
		return 0, fmt.Errorf("empty packet")
	}
	toc := packet[0]
	config := toc >> 3
	var frame int64
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]int64{480, 960, 1920, 2880}[config&3]
	case config < 16: // hybrid: 10, 20 ms
		frame = [2]int64{480, 960}[config&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]int64{120, 240, 480, 960}[config&3]
	}
	count := int64(1)
	switch toc & 3 {
	case 1, 2:
		count = 2
	case 3:
		if len(packet) < 2 {
			return 0, fmt.Errorf("code 3 packet without its frame count byte")
		}
		count = int64(packet[1] & 0x3f)
		if count == 0 {
			return 0, fmt.Errorf("code 3 packet of 0 frames")
		}
	}
	if frame*count > maxOpusPacketSamples {
		return 0, fmt.Errorf("%d frames of %s: longer than 120 ms", count, ticksToDuration(frame, opusClockRate))
	}
	return frame * count, nil
}
