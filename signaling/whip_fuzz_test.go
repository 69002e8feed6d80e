package signaling

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Fuzz targets of what a WHIP/WHEP client sends in its headers: the Authorization
// header (bearerGrant) and the room grant read without a login (verifyGrantAlone).
// The path, offer and fragment parsers have theirs in whip_parse_test.go.

func FuzzBearerGrant(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer abc", "Bearer  abc ", "Bearer", "Bearer ", "Basic abc", "", "Bearer\tabc", "Bearer a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := &http.Request{Header: http.Header{"Authorization": {header}}}
		grant, err := bearerGrant(r)
		if err != nil {
			if !errors.Is(err, errNoBearer) || grant != "" {
				t.Fatalf("bearerGrant(%q) = %q, %v", header, grant, err)
			}
			return
		}
		if grant == "" || grant != strings.TrimSpace(grant) || !strings.Contains(header, grant) {
			t.Fatalf("bearerGrant(%q) = %q", header, grant)
		}
	})
}

func FuzzVerifyGrantAlone(f *testing.F) {
	v := testVerifier(f)
	valid, validStr, seeds := grantSeeds(f)
	otherApp := signClaims(f, jwt.SigningMethodHS256, []byte(testSecret),
		jwt.MapClaims{"typ": "room", "sub": "alice", "app": testApp + 1, "room": 123, "rights": []string{"publish"}, "exp": testNow.Add(time.Hour).Unix()})
	roomString := signClaims(f, jwt.SigningMethodHS256, []byte(testSecret),
		jwt.MapClaims{"typ": "room", "sub": "alice", "app": testApp, "room": "s:123", "rights": []string{"publish"}, "exp": testNow.Add(time.Hour).Unix()})
	badSub := signClaims(f, jwt.SigningMethodHS256, []byte(testSecret),
		jwt.MapClaims{"typ": "room", "sub": "../x", "app": testApp, "room": 123, "rights": []string{"publish"}, "exp": testNow.Add(time.Hour).Unix()})
	for _, s := range append(seeds, otherApp, roomString, badSub) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, grant string) {
		h, err := v.verifyGrantAlone(grant, testNow)
		if err != nil {
			if !errors.Is(err, ErrRoomGrantInvalid) && !errors.Is(err, ErrRoomGrantExpired) {
				t.Fatalf("verifyGrantAlone error that is no grant error: %v", err)
			}
			if h != (grantHolder{}) {
				t.Fatalf("holder %+v with an error", h)
			}
			return
		}
		// The fuzzer cannot forge a signature: a success is one of the seeds' grants.
		if grant != valid && grant != validStr && grant != roomString {
			t.Fatalf("accepted %q as %+v", grant, h)
		}
		if h.app != testApp || h.userID != "alice" || !protocol.ValidUserID(h.userID) || !protocol.ValidRoomID(h.room) || h.rights.IsZero() {
			t.Fatalf("accepted %q as %+v", grant, h)
		}
	})
}
