package quality

import (
	"testing"
	"time"
)

var epoch = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

const interval = 2 * time.Second // the default quality interval

// audioUp is a 2 s uplink window of Opus (50 packets/s) with the given loss.
func audioUp(lossPercent int64) LinkSample {
	return LinkSample{Kind: KindAudio, PacketsExpected: 100, PacketsLost: lossPercent, Jitter: 5 * time.Millisecond}
}

// videoDown is a downlink sample from receiver reports.
func videoDown(fractionLost uint8) LinkSample {
	return LinkSample{Kind: KindVideo, Reports: 2, FractionLost: fractionLost, Jitter: 5 * time.Millisecond, RTT: 40 * time.Millisecond}
}

// TestEstimatorTargets are the expectations integration tests rely on.
func TestEstimatorTargets(t *testing.T) {
	tests := []struct {
		name string
		up   []LinkSample
		down []LinkSample
		want Quality
	}{
		{"no loss, low jitter and RTT", []LinkSample{audioUp(0)}, []LinkSample{videoDown(0)}, Excellent},
		{"5% uplink audio loss", []LinkSample{audioUp(5)}, []LinkSample{videoDown(0)}, Poor},
		{"5% downlink video loss", []LinkSample{audioUp(0)}, []LinkSample{videoDown(13)}, Poor},
		{"20% uplink audio loss", []LinkSample{audioUp(20)}, []LinkSample{videoDown(0)}, Vbad},
		{"20% downlink video loss", []LinkSample{audioUp(0)}, []LinkSample{videoDown(51)}, Vbad},
		{"worse of uplink and downlink", []LinkSample{audioUp(1)}, []LinkSample{videoDown(51)}, Vbad},
		{"worst uplink track counts", []LinkSample{audioUp(0), {Kind: KindVideo, PacketsExpected: 1000, PacketsLost: 50}}, nil, Poor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEstimator(Config{})
			if got := e.Update(epoch, tt.up, tt.down, true, epoch); got != tt.want {
				t.Fatalf("Update = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEstimatorUnknown(t *testing.T) {
	tests := []struct {
		name      string
		up        []LinkSample
		down      []LinkSample
		connected bool
		want      Quality
	}{
		{"no samples", nil, nil, true, Unknown},
		{"9 packets is not enough", []LinkSample{{Kind: KindAudio, PacketsExpected: DefaultMinPackets - 1}}, nil, true, Unknown},
		{"10 packets is enough", []LinkSample{{Kind: KindAudio, PacketsExpected: DefaultMinPackets}}, nil, true, Excellent},
		{"downlink without a report is not enough", nil, []LinkSample{{Kind: KindVideo, FractionLost: 200}}, true, Unknown},
		{"one receiver report is enough", nil, []LinkSample{{Kind: KindVideo, Reports: 1}}, true, Excellent},
		{"not connected", []LinkSample{audioUp(0)}, nil, false, Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEstimator(Config{})
			if got := e.Update(epoch, tt.up, tt.down, tt.connected, epoch); got != tt.want {
				t.Fatalf("Update = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEstimatorDown(t *testing.T) {
	tests := []struct {
		name    string
		silence time.Duration
		want    Quality
	}{
		{"4.9 s without media or RTCP", 4900 * time.Millisecond, Excellent},
		{"exactly 5 s", 5 * time.Second, Excellent},
		{"5.1 s without media or RTCP", 5100 * time.Millisecond, Down},
		{"a minute", time.Minute, Down},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEstimator(Config{})
			e.Update(epoch, []LinkSample{audioUp(0)}, nil, true, epoch)
			now := epoch.Add(tt.silence)
			if got := e.Update(now, nil, nil, true, epoch); got != tt.want {
				t.Fatalf("Update after %v of silence = %v, want %v", tt.silence, got, tt.want)
			}
		})
	}

	t.Run("Down without any data before", func(t *testing.T) {
		e := NewEstimator(Config{})
		connectedAt := epoch
		if got := e.Update(epoch.Add(5100*time.Millisecond), nil, nil, true, connectedAt); got != Down {
			t.Fatalf("connected 5.1 s with nothing received: %v, want Down", got)
		}
	})
	t.Run("zero lastActivity skips the rule", func(t *testing.T) {
		e := NewEstimator(Config{})
		if got := e.Update(epoch.Add(time.Hour), []LinkSample{audioUp(0)}, nil, true, time.Time{}); got != Excellent {
			t.Fatalf("Update = %v, want Excellent", got)
		}
	})
	t.Run("configured DownAfter", func(t *testing.T) {
		e := NewEstimator(Config{DownAfter: time.Second})
		if got := e.Update(epoch.Add(1100*time.Millisecond), []LinkSample{audioUp(0)}, nil, true, epoch); got != Down {
			t.Fatalf("Update = %v, want Down", got)
		}
	})
}

// TestEstimatorHysteresis: a worse level applies at once, a better one after
// RecoverAfter (2) consecutive updates, as the worst of them.
func TestEstimatorHysteresis(t *testing.T) {
	// Uplink audio loss in percent per update, -1 = no data (4 packets).
	tests := []struct {
		name   string
		losses []int64
		want   []Quality
	}{
		{"steady", []int64{0, 0, 0}, []Quality{Excellent, Excellent, Excellent}},
		{"drop is immediate", []int64{0, 5, 20}, []Quality{Excellent, Poor, Vbad}},
		{"recovery takes two updates", []int64{20, 0, 0, 0}, []Quality{Vbad, Vbad, Excellent, Excellent}},
		{"recovery to the worst of the two", []int64{20, 0, 5, 0, 0}, []Quality{Vbad, Vbad, Poor, Poor, Excellent}},
		{"a relapse restarts recovery", []int64{20, 0, 20, 0, 0}, []Quality{Vbad, Vbad, Vbad, Vbad, Excellent}},
		{"missing data keeps the level and breaks the streak", []int64{20, 0, -1, 0, 0}, []Quality{Vbad, Vbad, Vbad, Vbad, Excellent}},
		{"Unknown until the first data", []int64{-1, -1, 5}, []Quality{Unknown, Unknown, Poor}},
		{"first data applies at once, even when good", []int64{-1, 0}, []Quality{Unknown, Excellent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEstimator(Config{})
			for i, loss := range tt.losses {
				now := epoch.Add(time.Duration(i) * interval)
				sample := audioUp(loss)
				if loss < 0 {
					sample = LinkSample{Kind: KindAudio, PacketsExpected: 4}
				}
				got := e.Update(now, []LinkSample{sample}, nil, true, now)
				if got != tt.want[i] || e.Quality() != got {
					t.Fatalf("update %d (loss %d%%): %v (Quality() %v), want %v", i, loss, got, e.Quality(), tt.want[i])
				}
			}
		})
	}
}

func TestEstimatorRecoversFromDownSlowly(t *testing.T) {
	e := NewEstimator(Config{})
	e.Update(epoch, []LinkSample{audioUp(0)}, nil, true, epoch)
	silentUntil := epoch.Add(6 * time.Second)
	if got := e.Update(silentUntil, nil, nil, true, epoch); got != Down {
		t.Fatalf("after 6 s of silence: %v, want Down", got)
	}
	now := silentUntil.Add(interval)
	if got := e.Update(now, []LinkSample{audioUp(0)}, nil, true, now); got != Down {
		t.Fatalf("first update with media again: %v, want Down (recovery needs two)", got)
	}
	now = now.Add(interval)
	if got := e.Update(now, []LinkSample{audioUp(0)}, nil, true, now); got != Excellent {
		t.Fatalf("second update with media again: %v, want Excellent", got)
	}
}

func TestEstimatorDisconnectForgets(t *testing.T) {
	e := NewEstimator(Config{})
	e.Update(epoch, []LinkSample{audioUp(20)}, nil, true, epoch)
	if got := e.Update(epoch.Add(interval), []LinkSample{audioUp(20)}, nil, false, epoch); got != Unknown {
		t.Fatalf("disconnected: %v, want Unknown", got)
	}
	now := epoch.Add(2 * interval)
	if got := e.Update(now, []LinkSample{audioUp(0)}, nil, true, now); got != Excellent {
		t.Fatalf("reconnected with a clean link: %v, want Excellent at once", got)
	}
}

// TestEstimatorRTTFallback: the uplink rarely knows its RTT; the user's
// downlink RTT (same path) stands in, and is remembered across updates.
func TestEstimatorRTTFallback(t *testing.T) {
	e := NewEstimator(Config{})
	up := []LinkSample{{Kind: KindAudio, PacketsExpected: 100}} // RTT unknown
	slowDown := []LinkSample{{Kind: KindAudio, Reports: 1, RTT: 700 * time.Millisecond}}
	if got := e.Update(epoch, up, slowDown, true, epoch); got != Poor {
		t.Fatalf("with a 700 ms downlink RTT: %v, want Poor", got)
	}
	// Next window: only the uplink, which still uses the remembered 700 ms.
	now := epoch.Add(interval)
	e.Update(now, up, nil, true, now)
	now = now.Add(interval)
	if got := e.Update(now, up, nil, true, now); got != Poor {
		t.Fatalf("uplink alone after a 700 ms RTT was seen: %v, want Poor", got)
	}
}

func TestWorse(t *testing.T) {
	tests := []struct{ a, b, want Quality }{
		{Unknown, Unknown, Unknown},
		{Unknown, Good, Good},
		{Bad, Unknown, Bad},
		{Excellent, Poor, Poor},
		{Down, Vbad, Down},
	}
	for _, tt := range tests {
		if got := Worse(tt.a, tt.b); got != tt.want {
			t.Errorf("Worse(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestQualityString(t *testing.T) {
	want := []string{"Unknown", "Excellent", "Good", "Poor", "Bad", "Vbad", "Down", "Quality(7)"}
	for q, name := range want {
		if got := Quality(q).String(); got != name {
			t.Errorf("Quality(%d).String() = %q, want %q", q, got, name)
		}
	}
}
