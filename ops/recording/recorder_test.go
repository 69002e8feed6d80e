package recording

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/parley-rtc/parley/room"
)

// TestStoppedRecordingsAreBounded: the Recorder remembers the last MaxStoppedKept stopped
// recordings, not all it ever made (recording.calls makes one per call, for as long as
// the process runs). The older ones leave List and File (404) but keep their files; the
// running ones and the newer stopped ones stay.
// newTestRecorder is a Recorder with the default configuration writing into a fresh
// directory (returned), over a room manager without an engine; closed at cleanup.
func newTestRecorder(t *testing.T) (*Recorder, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Dir = dir
	rec, err := New(cfg, room.NewManager(room.DefaultConfig(), nil, nil, nil), func() *net.UDPAddr { return nil }, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Close() })
	return rec, dir
}

func TestStoppedRecordingsAreBounded(t *testing.T) {
	rec, dir := newTestRecorder(t)
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

// TestFileRefusesOtherNames: File serves a stopped recording's manifest and the files it
// lists, nothing else: no path out of the recording's directory, no other recording's
// id, no running recording.
func TestFileRefusesOtherNames(t *testing.T) {
	rec, dir := newTestRecorder(t)
	a, _ := room.NewIntID(1)
	b, _ := room.NewIntID(2)
	stopped, err := rec.Start(a.InApp(7))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Stop(stopped.ID); err != nil {
		t.Fatal(err)
	}
	running, err := rec.Start(b.InApp(7))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/secret", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ id, name string }{
		{stopped.ID, "../secret"},
		{stopped.ID, "..%2fsecret"},
		{stopped.ID, "/etc/passwd"},
		{stopped.ID, "manifest.json/../../secret"},
		{stopped.ID, ""},
		{stopped.ID, "."},
		{"../" + stopped.ID, ManifestFile},
		{".", ManifestFile},
		{"", ManifestFile},
		{running.ID, ManifestFile},
		{strings.ToUpper(stopped.ID), ManifestFile},
	}
	for _, tt := range tests {
		if path, err := rec.File(tt.id, tt.name); !errors.Is(err, ErrUnknown) {
			t.Errorf("File(%q, %q) = %q, %v; want ErrUnknown", tt.id, tt.name, path, err)
		}
	}
	if path, err := rec.File(stopped.ID, ManifestFile); err != nil || path != dir+"/"+stopped.ID+"/"+ManifestFile {
		t.Fatalf("the manifest: %q, %v", path, err)
	}
}

// TestTrackFileNameStaysInTheDirectory: a track's file is named after its user; a userId
// that is not one ([A-Za-z0-9_-]{1,64}) is refused, so no name leaves the recording's
// directory whatever reaches the recorder.
func TestTrackFileNameStaysInTheDirectory(t *testing.T) {
	for _, user := range []string{"../../x", "a/b", "", ".", "..", "a\\b", strings.Repeat("a", 65)} {
		if name, err := trackFileName(user, "video", 1, "ivf"); err == nil {
			t.Errorf("user %q: file %q", user, name)
		}
	}
	if name, err := trackFileName("alice_1", "audio", 2, "ogg"); err != nil || name != "alice_1-audio-2.ogg" {
		t.Fatalf("alice_1: %q, %v", name, err)
	}
}
