package main

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/parley-rtc/parley/signaling"
)

// TestTURNQuotaIsPerAppUser: the TURN credentials of a login name the app with the user
// (signaling.TURNUser), so alice of one app holding her allocation quota does not use up
// alice's of another app (D248).
func TestTURNQuotaIsPerAppUser(t *testing.T) {
	const otherApp, otherSecret = 1400000002, "the-other-app-secret-0123456789-abcdef"
	cfg := turnConfig(t)
	cfg.TURN.AllocationQuotaPerUser = 1
	cfg.Auth.Apps = append(cfg.Auth.Apps, signaling.AppCredential{SDKAppID: otherApp, Secret: otherSecret})
	r := startServe(t, cfg)
	turnAddr, realm := r.srv.turn.Addrs().UDP.String(), r.srv.cfg.TURN.Realm

	allocate := func(app int, secret string) error {
		c, err := dialLoginApp(t, r.wsURL(), app, secret, "alice")
		if err != nil {
			t.Fatalf("login alice of %d: %v", app, err)
		}
		result, ok := c.LoginResult()
		if !ok || len(result.ICEServers) == 0 {
			t.Fatalf("alice of %d: no TURN credentials", app)
		}
		user := result.ICEServers[0].Username
		if !strings.HasSuffix(user, fmt.Sprintf(":%d:alice", app)) {
			t.Errorf("TURN username %q does not name app %d", user, app)
		}
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		relay, err := turnClient(t, conn, turnAddr, realm, user, result.ICEServers[0].Credential).Allocate()
		if err == nil {
			t.Cleanup(func() { _ = relay.Close() })
		}
		return err
	}
	if err := allocate(signaling.DevSDKAppID, signaling.DevSecret); err != nil {
		t.Fatalf("alice of the development app: %v", err)
	}
	if err := allocate(signaling.DevSDKAppID, signaling.DevSecret); err == nil || !strings.Contains(err.Error(), "486") {
		t.Fatalf("alice of the development app beyond her quota: %v, want 486", err)
	}
	if err := allocate(otherApp, otherSecret); err != nil {
		t.Fatalf("alice of app %d beside the other alice's full quota: %v", otherApp, err)
	}
}
