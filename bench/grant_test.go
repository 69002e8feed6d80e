package bench

import (
	"errors"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestSeatRoomGrant: every room seat joins with a room grant minted with the app secret
// for its own user and room; a publisher may publish and subscribe, a subscriber only
// subscribe. The grant does not open another room nor work with another secret.
func TestSeatRoomGrant(t *testing.T) {
	verifier, err := signaling.NewVerifier(signaling.DefaultAuthConfig())
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{appID: signaling.DevSDKAppID, secret: []byte(signaling.DevSecret)}
	room := protocol.StrRoom("bench_run1_0")
	tests := []struct {
		name string
		seat roomSeat
		want signaling.Rights
	}{
		{"video publisher", roomSeat{room: room, userID: "bench_v_0_0", publish: Publishing{Video: true}}, signaling.Rights{Publish: true, Subscribe: true}},
		{"audio publisher", roomSeat{room: room, userID: "bench_a_0_0", publish: Publishing{Audio: true}}, signaling.Rights{Publish: true, Subscribe: true}},
		{"subscriber", roomSeat{room: room, userID: "bench_s_0_0"}, signaling.Rights{Subscribe: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grant, err := tg.roomGrant(tt.seat)
			if err != nil {
				t.Fatal(err)
			}
			rights, err := verifier.VerifyRoomGrant(signaling.DevSDKAppID, tt.seat.userID, tt.seat.room, grant, time.Now())
			if err != nil || rights != tt.want {
				t.Fatalf("VerifyRoomGrant = %+v, %v; want %+v", rights, err, tt.want)
			}
			if _, err := verifier.VerifyRoomGrant(signaling.DevSDKAppID, tt.seat.userID, protocol.StrRoom("bench_run1_1"), grant, time.Now()); !errors.Is(err, signaling.ErrRoomGrantInvalid) {
				t.Fatalf("grant opens another room: %v", err)
			}
		})
	}
	bad := &target{appID: signaling.DevSDKAppID, secret: []byte("short")}
	if _, err := bad.roomGrant(tests[0].seat); err == nil {
		t.Fatal("minted a grant with a secret shorter than 16 bytes")
	}
}
