package quality

import (
	"math"
	"testing"
	"time"
)

func TestLevelForMOS(t *testing.T) {
	const eps = 1e-9
	tests := []struct {
		mos  float64
		want Quality
	}{
		{4.5, Excellent},
		{MOSExcellent, Excellent},
		{MOSExcellent - eps, Good},
		{MOSGood, Good},
		{MOSGood - eps, Poor},
		{MOSPoor, Poor},
		{MOSPoor - eps, Bad},
		{MOSBad, Bad},
		{MOSBad - eps, Vbad},
		{1, Vbad},
	}
	for _, tt := range tests {
		if got := LevelForMOS(tt.mos); got != tt.want {
			t.Errorf("LevelForMOS(%v) = %v, want %v", tt.mos, got, tt.want)
		}
	}
}

// lossSample is a window of 10000 packets at RTT 40 ms and jitter 5 ms, the
// reference conditions of the documented table in score.go.
func lossSample(kind Kind, lost int64) LinkSample {
	return LinkSample{Kind: kind, PacketsExpected: 10000, PacketsLost: lost, Jitter: 5 * time.Millisecond, RTT: 40 * time.Millisecond}
}

func levelOf(s LinkSample) Quality {
	_, mos := Score(s, 0)
	return LevelForMOS(mos)
}

// TestScoreLossBoundaries pins every level boundary, just below and just
// above, in lost packets out of 10000 at RTT 40 ms and jitter 5 ms.
func TestScoreLossBoundaries(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		lost int64
		want Quality
	}{
		{"audio 0.81% Excellent", KindAudio, 81, Excellent},
		{"audio 0.82% Good", KindAudio, 82, Good},
		{"audio 2.29% Good", KindAudio, 229, Good},
		{"audio 2.30% Poor", KindAudio, 230, Poor},
		{"audio 7.83% Poor", KindAudio, 783, Poor},
		{"audio 7.84% Bad", KindAudio, 784, Bad},
		{"audio 10.86% Bad", KindAudio, 1086, Bad},
		{"audio 10.87% Vbad", KindAudio, 1087, Vbad},
		{"video 1.21% Excellent", KindVideo, 121, Excellent},
		{"video 1.22% Good", KindVideo, 122, Good},
		{"video 3.43% Good", KindVideo, 343, Good},
		{"video 3.44% Poor", KindVideo, 344, Poor},
		{"video 11.74% Poor", KindVideo, 1174, Poor},
		{"video 11.75% Bad", KindVideo, 1175, Bad},
		{"video 16.29% Bad", KindVideo, 1629, Bad},
		{"video 16.30% Vbad", KindVideo, 1630, Vbad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := levelOf(lossSample(tt.kind, tt.lost)); got != tt.want {
				t.Fatalf("level = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestScoreDocumentedTable pins the loss table in score.go's documentation.
func TestScoreDocumentedTable(t *testing.T) {
	tests := []struct {
		lossPercent int64
		audio       Quality
		video       Quality
	}{
		{0, Excellent, Excellent},
		{1, Good, Excellent},
		{2, Good, Good},
		{5, Poor, Poor},
		{10, Bad, Poor},
		{20, Vbad, Vbad},
	}
	for _, tt := range tests {
		if got := levelOf(lossSample(KindAudio, tt.lossPercent*100)); got != tt.audio {
			t.Errorf("audio %d%% loss: %v, want %v", tt.lossPercent, got, tt.audio)
		}
		if got := levelOf(lossSample(KindVideo, tt.lossPercent*100)); got != tt.video {
			t.Errorf("video %d%% loss: %v, want %v", tt.lossPercent, got, tt.video)
		}
	}
}

// TestScoreLatencyBoundaries: without loss or jitter, RTT alone.
func TestScoreLatencyBoundaries(t *testing.T) {
	tests := []struct {
		rtt    time.Duration
		jitter time.Duration
		want   Quality
	}{
		{382 * time.Millisecond, 0, Excellent},
		{383 * time.Millisecond, 0, Good},
		{594 * time.Millisecond, 0, Good},
		{595 * time.Millisecond, 0, Poor},
		{1074 * time.Millisecond, 0, Poor},
		{1075 * time.Millisecond, 0, Bad},
		{1229 * time.Millisecond, 0, Bad},
		{1230 * time.Millisecond, 0, Vbad},
		// The documented examples with jitter.
		{300 * time.Millisecond, 30 * time.Millisecond, Good},
		{500 * time.Millisecond, 50 * time.Millisecond, Poor},
		{time.Second, 50 * time.Millisecond, Bad},
	}
	for _, tt := range tests {
		s := LinkSample{Kind: KindAudio, PacketsExpected: 100, RTT: tt.rtt, Jitter: tt.jitter}
		if got := levelOf(s); got != tt.want {
			t.Errorf("RTT %v jitter %v: %v, want %v", tt.rtt, tt.jitter, got, tt.want)
		}
	}
}

func TestScoreUsesFallbackRTTOnlyWhenUnknown(t *testing.T) {
	unknown := LinkSample{Kind: KindAudio, PacketsExpected: 100}
	known := LinkSample{Kind: KindAudio, PacketsExpected: 100, RTT: 20 * time.Millisecond}
	_, withFallback := Score(unknown, 2*time.Second)
	_, withOwn := Score(known, 2*time.Second)
	if LevelForMOS(withFallback) != Vbad {
		t.Errorf("unknown RTT with a 2 s fallback scored %v (%v), want Vbad", withFallback, LevelForMOS(withFallback))
	}
	if LevelForMOS(withOwn) != Excellent {
		t.Errorf("known 20 ms RTT scored %v (%v), want Excellent", withOwn, LevelForMOS(withOwn))
	}
}

func TestLossFraction(t *testing.T) {
	tests := []struct {
		name   string
		sample LinkSample
		want   float64
	}{
		{"counted", LinkSample{PacketsExpected: 200, PacketsLost: 10}, 0.05},
		{"counted wins over report", LinkSample{PacketsExpected: 200, PacketsLost: 0, Reports: 1, FractionLost: 128}, 0},
		{"negative lost is no loss", LinkSample{PacketsExpected: 200, PacketsLost: -3}, 0},
		{"lost above expected is total loss", LinkSample{PacketsExpected: 200, PacketsLost: 500}, 1},
		{"report fraction", LinkSample{Reports: 2, FractionLost: 64}, 0.25},
		{"nothing", LinkSample{FractionLost: 64}, 0},
	}
	for _, tt := range tests {
		if got := tt.sample.LossFraction(); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: LossFraction = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func FuzzScore(f *testing.F) {
	f.Add(uint8(1), uint64(100), int64(5), 0, uint8(0), int64(5e6), int64(40e6))
	f.Add(uint8(2), uint64(0), int64(0), 3, uint8(255), int64(-1), int64(math.MaxInt64))
	f.Add(uint8(7), uint64(math.MaxUint64), int64(math.MinInt64), -1, uint8(12), int64(math.MaxInt64), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, kind uint8, expected uint64, lost int64, reports int, fraction uint8, jitter, rtt int64) {
		s := LinkSample{Kind: Kind(kind), PacketsExpected: expected, PacketsLost: lost, Reports: reports, FractionLost: fraction, Jitter: time.Duration(jitter), RTT: time.Duration(rtt)}
		loss := s.LossFraction()
		if !(loss >= 0 && loss <= 1) {
			t.Fatalf("loss fraction %v out of 0..1", loss)
		}
		r, mos := Score(s, time.Duration(rtt))
		if !(r >= 0 && r <= 100) || !(mos >= 1 && mos <= 4.5) {
			t.Fatalf("Score = R %v MOS %v, out of range", r, mos)
		}
		if level := LevelForMOS(mos); level < Excellent || level > Vbad {
			t.Fatalf("level %v out of Excellent..Vbad", level)
		}
	})
}
