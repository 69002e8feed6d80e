package main

import (
	"fmt"
	"net"
	"testing"
)

// TestFreeUDPPortIsFreeOnTCPToo: the media port the bench gives a server it starts must be
// free for both its UDP socket and its ICE-TCP listener (same number); a port free on UDP
// only made the server exit at start ("bind: address already in use").
func TestFreeUDPPortIsFreeOnTCPToo(t *testing.T) {
	// Hold TCP on many ports so that a choice checked on UDP only would likely hit one.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	for range 3000 {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		_ = c.Close()
		if l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			held = append(held, l)
		}
	}
	for range 100 {
		port, err := freeUDPPort()
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("port %d: free on UDP but not on TCP: %v", port, err)
		}
		_ = l.Close()
	}
}
