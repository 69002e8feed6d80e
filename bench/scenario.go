package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/parley-rtc/parley/client"
)

// Kind is what a scenario does.
type Kind string

// Scenario kinds.
const (
	KindRoom  Kind = "room"  // rooms of publishers and subscribers
	KindCalls Kind = "calls" // concurrent 1v1 calls through the call layer
	KindChurn Kind = "churn" // users joining and leaving at a rate
)

// Scenario is one load. Sizes are per room. Zero durations and rates take the defaults
// (SetDefaults); Validate rejects what cannot run.
type Scenario struct {
	Name string `json:"name" yaml:"name"`
	Kind Kind   `json:"kind" yaml:"kind"`

	// room and churn
	Rooms           int  `json:"rooms,omitempty" yaml:"rooms"`
	VideoPublishers int  `json:"video_publishers,omitempty" yaml:"video_publishers"`
	PublisherAudio  bool `json:"publisher_audio,omitempty" yaml:"publisher_audio"` // video publishers also send audio
	AudioPublishers int  `json:"audio_publishers,omitempty" yaml:"audio_publishers"`
	Simulcast       bool `json:"simulcast,omitempty" yaml:"simulcast"`
	// Codec of the synthetic video: "vp8" (default) or "h264".
	Codec string `json:"codec,omitempty" yaml:"codec"`
	// VideoBitrate is the single-stream video bitrate in bit/s (default 1.5 Mbit/s).
	VideoBitrate int `json:"video_bitrate,omitempty" yaml:"video_bitrate"`
	// VideoFile and AudioFile, when set, are a VP8 IVF file and an Opus Ogg file every
	// publisher sends (at the file's pace, looping) instead of synthetic video and audio
	// (room, calls and churn). File media carries no send time: receivers measure all but
	// latency, which the report shows as n/a. A video file is one VP8 stream: not with
	// simulcast (room, churn) or codec h264; VideoBitrate is then unused. A YAML scenario's
	// relative paths are relative to the YAML file.
	VideoFile   string `json:"video_file,omitempty" yaml:"video_file"`
	AudioFile   string `json:"audio_file,omitempty" yaml:"audio_file"`
	Subscribers int    `json:"subscribers,omitempty" yaml:"subscribers"`
	// Views is how many publishers' videos each subscriber takes; the first HighViews
	// at HighWidth×HighHeight, the others at LowWidth×LowHeight.
	Views      int `json:"views,omitempty" yaml:"views"`
	HighViews  int `json:"high_views,omitempty" yaml:"high_views"`
	HighWidth  int `json:"high_width,omitempty" yaml:"high_width"`
	HighHeight int `json:"high_height,omitempty" yaml:"high_height"`
	LowWidth   int `json:"low_width,omitempty" yaml:"low_width"`
	LowHeight  int `json:"low_height,omitempty" yaml:"low_height"`

	// calls
	Calls     int           `json:"calls,omitempty" yaml:"calls"`
	CallRate  float64       `json:"call_rate,omitempty" yaml:"call_rate"` // calls started per second
	Hold      time.Duration `json:"hold,omitempty" yaml:"hold"`           // call (or churn stay) length; 0 = to the end
	CallVideo bool          `json:"call_video,omitempty" yaml:"call_video"`
	// EarlyMedia (calls): media ready before the answer. The caller after its call and
	// the callee on the invitation send prepareCall (signaling/PROTOCOL.md), publish and,
	// in video calls, startRemoteView each other; the callee accepts once both sides'
	// publisher and subscriber PeerConnections are connected (the subscriber waited for
	// at most 2 s). Without it both publish and view after onCallBegin.
	EarlyMedia bool `json:"early_media,omitempty" yaml:"early_media"`
	// SignalingOnly (calls): no media and no PeerConnection. Each of the Calls pairs logs
	// in once and repeats call → invitation → accept → onCallBegin on both → hangup →
	// onCallEnd on both; Hold, when set, is the time between onCallBegin and the hangup
	// (0: hang up at once). The report's setups/s is the throughput of the call layer.
	SignalingOnly bool `json:"signaling_only,omitempty" yaml:"signaling_only"`

	// churn: users join a room at ChurnRate per second, publish audio (and video with
	// ChurnVideo), stay Hold, and leave.
	ChurnRate  float64 `json:"churn_rate,omitempty" yaml:"churn_rate"`
	ChurnVideo bool    `json:"churn_video,omitempty" yaml:"churn_video"` // churning users also publish video

	// NoTransportCC: the bench's PeerConnections negotiate no transport-wide congestion
	// control (no transport-wide-cc extension, no TWCC feedback), so the server runs no
	// congestion control for them — how the bench ran before it negotiated it as browsers
	// do (docs/decisions.md D35); for comparisons only.
	NoTransportCC bool `json:"no_transport_cc,omitempty" yaml:"no_transport_cc"`

	Ramp     float64       `json:"ramp" yaml:"ramp"` // participants joining per second
	Settle   time.Duration `json:"settle" yaml:"settle"`
	Duration time.Duration `json:"duration" yaml:"duration"`
}

// Defaults.
const (
	DefaultRamp     = 5
	DefaultSettle   = 5 * time.Second
	DefaultDuration = 60 * time.Second
	defaultMaxViews = 6
)

// SetDefaults fills zero rates, durations and sizes of views.
func (s *Scenario) SetDefaults() {
	if s.Name == "" {
		s.Name = string(s.Kind)
	}
	if s.Ramp == 0 {
		s.Ramp = DefaultRamp
	}
	if s.Codec == "" {
		s.Codec = string(client.VideoCodecVP8)
	}
	if s.Duration == 0 {
		s.Duration = DefaultDuration
	}
	if s.HighWidth == 0 && s.HighHeight == 0 {
		s.HighWidth, s.HighHeight = 1280, 720
	}
	if s.LowWidth == 0 && s.LowHeight == 0 {
		s.LowWidth, s.LowHeight = 320, 180
	}
	switch s.Kind {
	case KindRoom:
		if s.Rooms == 0 {
			s.Rooms = 1
		}
	case KindCalls:
		if s.CallRate == 0 {
			s.CallRate = s.Ramp / 2 // two participants per call
		}
	case KindChurn:
		if s.Rooms == 0 {
			s.Rooms = 1
		}
		if s.ChurnRate == 0 {
			s.ChurnRate = s.Ramp
		}
		if s.Hold == 0 {
			s.Hold = 5 * time.Second
		}
	}
}

// Validate reports why the scenario cannot run, wrapping ErrInvalidScenario.
func (s *Scenario) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("bench: scenario %q: %s: %w", s.Name, fmt.Sprintf(format, args...), ErrInvalidScenario)
	}
	for name, v := range map[string]int{
		"rooms": s.Rooms, "video publishers": s.VideoPublishers, "audio publishers": s.AudioPublishers,
		"subscribers": s.Subscribers, "views": s.Views, "high views": s.HighViews, "calls": s.Calls,
		"video bitrate": s.VideoBitrate,
	} {
		if v < 0 {
			return bad("negative %s (%d)", name, v)
		}
	}
	codec, err := client.ParseVideoCodec(s.Codec)
	if err != nil || codec != client.VideoCodec(s.Codec) {
		return bad("unknown codec %q (vp8, h264)", s.Codec)
	}
	if s.Duration < time.Second {
		return bad("duration %s is shorter than 1s", s.Duration)
	}
	if s.VideoFile != "" {
		if codec != client.VideoCodecVP8 {
			return bad("video file %s is VP8 but the codec is %s", s.VideoFile, codec)
		}
		if s.Simulcast && s.Kind != KindCalls {
			return bad("video file %s is one stream; simulcast needs three encodings (drop simulcast: --no-simulcast)", s.VideoFile)
		}
	}
	if _, _, err := s.loadMedia(); err != nil {
		return err
	}
	if s.Settle < 0 || s.Hold < 0 {
		return bad("negative settle or hold time")
	}
	if s.Kind != KindCalls && (s.EarlyMedia || s.SignalingOnly) {
		return bad("early_media and signaling_only are options of the calls kind, not %s", s.Kind)
	}
	if s.Ramp <= 0 || s.CallRate < 0 || s.ChurnRate < 0 {
		return bad("ramp %v, call rate %v and churn rate %v must be positive", s.Ramp, s.CallRate, s.ChurnRate)
	}
	switch s.Kind {
	case KindRoom:
		if s.Rooms < 1 {
			return bad("no rooms")
		}
		if s.VideoPublishers+s.AudioPublishers == 0 {
			return bad("no publishers: nothing to forward")
		}
		if s.Views > 0 && s.Subscribers == 0 {
			return bad("%d views per subscriber but no subscribers", s.Views)
		}
		if s.Views > s.VideoPublishers {
			return bad("each subscriber views %d videos but a room has %d video publishers", s.Views, s.VideoPublishers)
		}
		if s.HighViews > s.Views {
			return bad("%d high-quality views out of %d views", s.HighViews, s.Views)
		}
		if s.Subscribers > 0 && s.Views == 0 && s.AudioPublishers == 0 && !s.PublisherAudio {
			return bad("subscribers view no video and no publisher sends audio: they would receive nothing")
		}
	case KindCalls:
		if s.Calls < 1 {
			return bad("no calls")
		}
		if s.SignalingOnly && s.EarlyMedia {
			return bad("early_media prepares media, signaling_only has none: choose one")
		}
		if s.SignalingOnly && (s.VideoFile != "" || s.AudioFile != "") {
			return bad("signaling_only sends no media: drop video_file and audio_file")
		}
	case KindChurn:
		if s.Rooms < 1 || s.ChurnRate <= 0 {
			return bad("churn needs a room and a positive churn rate")
		}
	default:
		return bad("unknown kind %q (room, calls, churn)", s.Kind)
	}
	return nil
}

// participants is how many sessions the scenario keeps at once (churn: about rate×hold).
func (s *Scenario) participants() int {
	switch s.Kind {
	case KindRoom:
		return s.Rooms * (s.VideoPublishers + s.AudioPublishers + s.Subscribers)
	case KindCalls:
		return 2 * s.Calls
	default:
		return int(s.ChurnRate*s.Hold.Seconds()) + 1
	}
}

// Reference returns a named reference load (docs/benchmarks.md, the shared reference
// loads): a1, a2, b, c, measured for DefaultDuration (60 s) after DefaultSettle, with VP8
// video (set Codec for H.264). subscribers overrides the subscriber count when > 0 (c is
// run with 60, 90 and 130).
func Reference(name string, subscribers int) (Scenario, error) {
	s := Scenario{Name: name, Kind: KindRoom, Rooms: 1, Ramp: DefaultRamp, Settle: DefaultSettle, Duration: DefaultDuration}
	switch name {
	case "a1", "a2":
		s.VideoPublishers, s.Subscribers, s.Views, s.HighViews = 2, 10, 2, 1
		s.Simulcast = name == "a1"
	case "b":
		s.AudioPublishers, s.Subscribers = 10, 20
	case "c":
		s.VideoPublishers, s.PublisherAudio, s.Simulcast, s.Subscribers, s.Views, s.HighViews = 4, true, true, 60, 4, 1
	default:
		return Scenario{}, fmt.Errorf("bench: unknown reference load %q (a1, a2, b, c): %w", name, ErrInvalidScenario)
	}
	if subscribers > 0 {
		s.Subscribers = subscribers
		s.Name = fmt.Sprintf("%s-%d", name, subscribers)
	}
	s.SetDefaults()
	return s, nil
}

// kindDescription is the kind with the calls mode: "calls, early media", "calls,
// signaling only".
func (s *Scenario) kindDescription() string {
	switch {
	case s.Kind == KindCalls && s.SignalingOnly:
		return "calls, signaling only"
	case s.Kind == KindCalls && s.EarlyMedia:
		return "calls, early media"
	}
	return string(s.Kind)
}

// videoDescription says how video is sent: codec and simulcast, or "none".
func (s *Scenario) videoDescription() string {
	video := s.VideoPublishers > 0 || (s.Kind == KindCalls && s.CallVideo && !s.SignalingOnly) || (s.Kind == KindChurn && s.ChurnVideo)
	codec := s.Codec
	if codec == "" { // a report written before the codec was recorded
		codec = string(client.VideoCodecVP8)
	}
	switch {
	case !video:
		return "none"
	case s.VideoFile != "":
		return codec + " file " + filepath.Base(s.VideoFile)
	case s.Simulcast && s.Kind != KindCalls:
		return codec + " simulcast"
	default:
		return codec
	}
}

// audioDescription says how audio is sent: "synthetic", "file NAME", or "none".
func (s *Scenario) audioDescription() string {
	audio := s.AudioPublishers > 0 || s.PublisherAudio || (s.Kind == KindCalls && !s.SignalingOnly) || s.Kind == KindChurn
	switch {
	case !audio:
		return "none"
	case s.AudioFile != "":
		return "file " + filepath.Base(s.AudioFile)
	default:
		return "synthetic"
	}
}

// loadMedia loads the scenario's media files (nil when not set); errors name the file and
// wrap ErrInvalidScenario and client.ErrMediaFile.
func (s *Scenario) loadMedia() (*client.IVFVideo, *client.OggOpus, error) {
	var video *client.IVFVideo
	var audio *client.OggOpus
	var err error
	if s.VideoFile != "" {
		if video, err = client.LoadIVF(s.VideoFile); err != nil {
			return nil, nil, fmt.Errorf("bench: scenario %q: %w: %w", s.Name, err, ErrInvalidScenario)
		}
	}
	if s.AudioFile != "" {
		if audio, err = client.LoadOgg(s.AudioFile); err != nil {
			return nil, nil, fmt.Errorf("bench: scenario %q: %w: %w", s.Name, err, ErrInvalidScenario)
		}
	}
	return video, audio, nil
}

// IsReference reports whether name is a reference load.
func IsReference(name string) bool {
	switch name {
	case "a1", "a2", "b", "c":
		return true
	}
	return false
}

// LoadScenario reads a scenario from a YAML file (keys as in the Scenario's yaml tags;
// durations like "30s"; video_file and audio_file relative to the YAML file).
func LoadScenario(path string) (Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("bench: read scenario: %w", err)
	}
	var s Scenario
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Scenario{}, fmt.Errorf("bench: scenario %s: %v: %w", path, err, ErrInvalidScenario)
	}
	for _, file := range []*string{&s.VideoFile, &s.AudioFile} {
		if *file != "" && !filepath.IsAbs(*file) {
			*file = filepath.Join(filepath.Dir(path), *file)
		}
	}
	s.SetDefaults()
	return s, nil
}
