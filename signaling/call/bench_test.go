package call

import (
	"strconv"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// BenchmarkCallLifecycle measures one 1v1 call from invitation to hangup on a machine that
// already holds 1000 ringing calls.
func BenchmarkCallLifecycle(b *testing.B) {
	m := New(DefaultConfig(), &fakeIDs{})
	now := t0
	for i := 0; i < 1000; i++ {
		u := strconv.Itoa(i)
		if _, err := m.Call(now, CallRequest{Caller: Profile{UserID: "c" + u}, Invitees: []string{"i" + u}, MediaType: protocol.MediaTypeAudio, Timeout: 600}); err != nil {
			b.Fatal(err)
		}
	}
	req := CallRequest{Caller: alice, Invitees: []string{"bob"}, MediaType: protocol.MediaTypeVideo}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Millisecond)
		if _, err := m.Call(now, req); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Accept(now, "bob", "s1", 0); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Hangup(now, "alice"); err != nil {
			b.Fatal(err)
		}
		if _, ok := m.NextDeadline(); !ok {
			b.Fatal("ringing calls lost")
		}
	}
}
