package audiolevel

import (
	"sync"
	"testing"
	"time"
)

const (
	frame        = 20 * time.Millisecond  // one Opus packet
	tick         = 300 * time.Millisecond // the default volume interval
	framesInTick = int(tick / frame)
)

var epoch = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// run feeds a meter one packet per frame for the given number of ticks,
// choosing each packet's level with levelOf(packet index), and returns the
// volume read at the end of each tick. Packets sit in the middle of their
// frame, so each tick closes exactly framesInTick packets.
func run(m *Meter, start time.Time, ticks int, levelOf func(i int) uint8) []int {
	volumes := make([]int, 0, ticks)
	for k := range ticks {
		for j := range framesInTick {
			i := k*framesInTick + j
			m.Observe(levelOf(i), start.Add(time.Duration(i)*frame+frame/2))
		}
		volumes = append(volumes, m.Volume(start.Add(time.Duration(k+1)*tick)))
	}
	return volumes
}

func steady(level uint8) func(int) uint8 { return func(int) uint8 { return level } }

// TestVolumeMapping pins the documented values of the mapping in meter.go.
func TestVolumeMapping(t *testing.T) {
	tests := []struct {
		name    string
		muted   bool
		levelOf func(int) uint8
		want    int // every tick, from the first
	}{
		{name: "digital silence", levelOf: steady(127), want: 0},
		{name: "full scale 0 dBov continuous", levelOf: steady(0), want: 100},
		{name: "-20 dBov continuous", levelOf: steady(20), want: 67},
		{name: "-30 dBov continuous", levelOf: steady(30), want: 50},
		{name: "-30 dBov speech at 40% activity", levelOf: func(i int) uint8 {
			if i%5 < 2 {
				return 30
			}
			return 127
		}, want: 40},
		{name: "-30 dBov at 60% activity is full presence", levelOf: func(i int) uint8 {
			if i%5 < 3 {
				return 30
			}
			return 127
		}, want: 50},
		{name: "-59 dBov is barely audible", levelOf: steady(59), want: 2},
		{name: "-60 dBov counts as silence", levelOf: steady(60), want: 0},
		{name: "levels above 127 are silence", levelOf: steady(200), want: 0},
		{name: "muted at full scale", muted: true, levelOf: steady(0), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Meter
			m.SetMuted(tt.muted)
			for k, got := range run(&m, epoch, 4, tt.levelOf) {
				if got != tt.want {
					t.Fatalf("tick %d: volume %d, want %d", k+1, got, tt.want)
				}
			}
		})
	}
}

func TestVolumeWithoutPackets(t *testing.T) {
	var m Meter
	for k := 1; k <= 5; k++ {
		if got := m.Volume(epoch.Add(time.Duration(k) * tick)); got != 0 {
			t.Fatalf("tick %d without any packet: volume %d, want 0", k, got)
		}
	}
}

// TestVolumeAttackAndDecay: a loud burst shows at once; after it ends the
// volume falls by the half-life each tick, never rises, and reaches 0.
func TestVolumeAttackAndDecay(t *testing.T) {
	var m Meter
	if got := run(&m, epoch, 1, steady(20)); got[0] != 67 {
		t.Fatalf("first tick of -20 dBov: %d, want 67 (instant attack)", got[0])
	}
	// Silence packets keep arriving (Opus DTX or comfort noise).
	decay := run(&m, epoch.Add(tick), 6, steady(127))
	// 66.67 * 2^(-300/250 * k), rounded: 29, 13, 5, 2, 1, 0.
	want := []int{29, 13, 5, 2, 1, 0}
	for k := range want {
		if decay[k] != want[k] {
			t.Fatalf("decay = %v, want %v", decay, want)
		}
	}
	// And a new burst attacks instantly again.
	if got := run(&m, epoch.Add(7*tick), 1, steady(0)); got[0] != 100 {
		t.Fatalf("burst after decay: %d, want 100", got[0])
	}
}

func TestVolumeStale(t *testing.T) {
	tests := []struct {
		name      string
		sinceLast time.Duration
		want      int
	}{
		// Not stale: decayed by four half-lives, 100 * 2^-4 = 6.25 → 6.
		{name: "exactly StaleAfter is not stale", sinceLast: StaleAfter, want: 6},
		{name: "just past StaleAfter is stale", sinceLast: StaleAfter + time.Millisecond, want: 0},
		{name: "long silence", sinceLast: time.Minute, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Meter
			m.Observe(0, epoch)
			if got := m.Volume(epoch); got != 100 {
				t.Fatalf("volume right after a full-scale packet: %d, want 100", got)
			}
			if got := m.Volume(epoch.Add(tt.sinceLast)); got != tt.want {
				t.Fatalf("volume %v after the last packet: %d, want %d", tt.sinceLast, got, tt.want)
			}
		})
	}
}

func TestMuteAndReset(t *testing.T) {
	var m Meter
	run(&m, epoch, 1, steady(0))
	m.SetMuted(true)
	if !m.Muted() {
		t.Fatal("Muted() = false after SetMuted(true)")
	}
	if got := run(&m, epoch.Add(tick), 2, steady(0)); got[0] != 0 || got[1] != 0 {
		t.Fatalf("muted volumes %v, want zeros", got)
	}
	m.SetMuted(false)
	if got := run(&m, epoch.Add(3*tick), 1, steady(20)); got[0] != 67 {
		t.Fatalf("after unmute: %d, want 67", got[0])
	}
	m.Reset()
	if got := m.Volume(epoch.Add(4*tick + time.Millisecond)); got != 0 {
		t.Fatalf("after Reset: %d, want 0", got)
	}
}

func TestObserveAndVolumeDoNotAllocate(t *testing.T) {
	var m Meter
	now := epoch
	allocs := testing.AllocsPerRun(10000, func() {
		now = now.Add(frame)
		m.Observe(25, now)
	})
	if allocs != 0 {
		t.Fatalf("Observe allocates %.1f times per call, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(1000, func() {
		now = now.Add(frame)
		m.Observe(25, now)
		m.Volume(now)
	})
	if allocs != 0 {
		t.Fatalf("Volume allocates %.1f times per call, want 0", allocs)
	}
}

// TestMeterConcurrentWriterAndReader runs the real pattern under -race: the
// packet goroutine observes while the ticker goroutine reads.
func TestMeterConcurrentWriterAndReader(t *testing.T) {
	var m Meter
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				m.Observe(20, time.Now())
			}
		}
	}()

	sawFull := false
	deadline := time.Now().Add(10 * time.Second)
	for reads := 0; reads < 2000 && time.Now().Before(deadline); reads++ {
		v := m.Volume(time.Now())
		if v < 0 || v > 67 {
			close(stop)
			wg.Wait()
			t.Fatalf("volume %d with a steady -20 dBov writer, want 0..67", v)
		}
		if v == 67 {
			sawFull = true
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(stop)
	wg.Wait()
	if !sawFull {
		t.Fatal("never read the steady -20 dBov volume 67")
	}
}

func BenchmarkObserve(b *testing.B) {
	var m Meter
	now := epoch
	b.ReportAllocs()
	for i := range b.N {
		m.Observe(uint8(i&63), now)
	}
}
