package recording

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"testing"

	"github.com/parley-rtc/parley/room"
)

// TestStoppedRecordingsAreBounded: the Recorder remembers the last MaxStoppedKept stopped
// recordings, not all it ever made (recording.calls makes one per call, for as long as
// the process runs). The older ones leave List and File (404) but keep their files; the
// running ones and the newer stopped ones stay.
func TestStoppedRecordingsAreBounded(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Dir = dir
	rec, err := New(cfg, room.NewManager(room.DefaultConfig(), nil, nil, nil), func() *net.UDPAddr { return nil }, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Close() })
	var ids []string
	for i := range MaxStoppedKept + 5 {
		id, err := room.NewIntID(int64(i + 1))
		if err != nil {
			t.Fatal(err)
		}
		info, err := rec.Start(id.InApp(1400000001))
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		if _, err := rec.Stop(info.ID); err != nil {
			t.Fatalf("stop %d: %v", i, err)
		}
		ids = append(ids, info.ID)
	}
	other, err := room.NewStringID("live")
	if err != nil {
		t.Fatal(err)
	}
	running, err := rec.Start(other.InApp(1400000001))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.List()); n != MaxStoppedKept+1 {
		t.Fatalf("List has %d recordings, want the %d last stopped and the running one", n, MaxStoppedKept)
	}
	for _, old := range ids[:5] {
		if _, err := rec.File(old, ManifestFile); !errors.Is(err, ErrUnknown) {
			t.Fatalf("File of a forgotten recording: %v, want ErrUnknown", err)
		}
		if _, err := os.Stat(dir + "/" + old + "/" + ManifestFile); err != nil {
			t.Fatalf("the forgotten recording's manifest left the disk: %v", err)
		}
	}
	if _, err := rec.File(ids[len(ids)-1], ManifestFile); err != nil {
		t.Fatalf("File of the last stopped recording: %v", err)
	}
	if _, err := rec.Stop(running.ID); err != nil {
		t.Fatalf("stop the running one: %v", err)
	}
}
