package client

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/signaling/protocol"
)

func TestPeerConfigRelayOnlyAndURLFilter(t *testing.T) {
	urls := []string{"turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp", "turns:127.0.0.1:5349?transport=tcp"}
	login := protocol.LoginResult{UserID: "alice", ICEServers: []protocol.ICEServer{{URLs: urls, Username: "u", Credential: "p"}}}
	onlyTLS := func(u string) bool { return strings.HasPrefix(u, "turns:") }
	tests := []struct {
		name       string
		peer       PeerConfig
		want       []webrtc.ICEServer
		wantPolicy webrtc.ICETransportPolicy
	}{
		{"loopback relay-only takes the login's servers", PeerConfig{Loopback: true, RelayOnly: true},
			[]webrtc.ICEServer{{URLs: urls, Username: "u", Credential: "p"}}, webrtc.ICETransportPolicyRelay},
		{"filter keeps the URLs it accepts", PeerConfig{RelayOnly: true, ICEServerURLFilter: onlyTLS},
			[]webrtc.ICEServer{{URLs: urls[2:], Username: "u", Credential: "p"}}, webrtc.ICETransportPolicyRelay},
		{"a server with no URL left is dropped", PeerConfig{ICEServerURLFilter: func(string) bool { return false }},
			nil, webrtc.ICETransportPolicyAll},
		{"loopback without relay-only ignores them", PeerConfig{Loopback: true}, nil, webrtc.ICETransportPolicyAll},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Conn{opts: Options{Peer: tt.peer}}
			peer := c.peerConfig(login)
			if !reflect.DeepEqual(peer.ICEServers, tt.want) {
				t.Errorf("ICE servers %+v, want %+v", peer.ICEServers, tt.want)
			}
			if got := peer.configuration().ICETransportPolicy; got != tt.wantPolicy {
				t.Errorf("policy %s, want %s", got, tt.wantPolicy)
			}
		})
	}
}

// TestTURNTLSDialer: turns: addresses get TLS verified with the configured roots (and only
// them); other TCP TURN addresses get plain TCP.
func TestTURNTLSDialer(t *testing.T) {
	tlsServer := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsServer.Close()
	tlsAddr := tlsServer.Listener.Addr().String()
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	accepted := make(chan []byte, 1)
	go func() {
		conn, err := plain.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		defer conn.Close()
		buf := make([]byte, 4)
		_, _ = io.ReadFull(conn, buf)
		accepted <- buf
	}()

	trusted := x509.NewCertPool()
	trusted.AddCert(tlsServer.Certificate())
	servers := []webrtc.ICEServer{{URLs: []string{"turns:" + tlsAddr + "?transport=tcp", "turn:" + plain.Addr().String() + "?transport=tcp"}}}

	dialer, err := newTURNTLSDialer(servers, &tls.Config{RootCAs: trusted, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dialer.Dial("tcp4", tlsAddr)
	if err != nil {
		t.Fatalf("turns with the trusted certificate: %v", err)
	}
	if tc, ok := conn.(*tls.Conn); !ok || !tc.ConnectionState().HandshakeComplete {
		t.Fatalf("turns connection %T is not a completed TLS connection", conn)
	}
	conn.Close()

	conn, err = dialer.Dial("tcp4", plain.Addr().String())
	if err != nil {
		t.Fatalf("plain TCP TURN: %v", err)
	}
	if _, isTLS := conn.(*tls.Conn); isTLS {
		t.Fatal("a turn:?transport=tcp address got TLS")
	}
	if _, err := conn.Write([]byte("STUN")); err != nil {
		t.Fatal(err)
	}
	if got := <-accepted; string(got) != "STUN" {
		t.Fatalf("plain server read %q", got)
	}
	conn.Close()

	untrusting, err := newTURNTLSDialer(servers, &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	if conn, err := untrusting.Dial("tcp4", tlsAddr); err == nil {
		conn.Close()
		t.Fatal("turns with an unknown certificate was accepted")
	}

	if _, err := newTURNTLSDialer([]webrtc.ICEServer{{URLs: []string{"turns:"}}}, &tls.Config{MinVersion: tls.VersionTLS12}); err == nil {
		t.Fatal("a malformed URL was accepted")
	}
}
