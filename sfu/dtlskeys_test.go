package sfu

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// The keys dtlsKeys derives from the key log and the ServerHello are the keys pion's
// SRTP session gets from the DTLS connection (srtp.Config.ExtractSessionKeysFromDTLS
// over dtls.State, what webrtc's DTLSTransport.startSRTP does): a packet sealed with
// either context is the same bytes, for the cipher suites (PRF hashes) and SRTP profiles
// pion negotiates, with and without the extended master secret.
func TestDTLSKeysMatchPionExporter(t *testing.T) {
	cases := []struct {
		name    string
		suite   dtls.CipherSuiteID
		profile dtls.SRTPProtectionProfile
		ems     dtls.ExtendedMasterSecretType
	}{
		{"aes128gcm-sha256/aead-aes128gcm", dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.SRTP_AEAD_AES_128_GCM, dtls.RequireExtendedMasterSecret},
		{"aes256gcm-sha384/aead-aes256gcm", dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, dtls.SRTP_AEAD_AES_256_GCM, dtls.RequireExtendedMasterSecret},
		{"aes256cbc-sha/cm-hmac-sha1-80", dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, dtls.SRTP_AES128_CM_HMAC_SHA1_80, dtls.RequireExtendedMasterSecret},
		{"no extended master secret", dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.SRTP_AEAD_AES_128_GCM, dtls.DisableExtendedMasterSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys := &dtlsKeys{inbound: true}
			state := handshakeDTLS(t, keys, tc.suite, tc.profile, tc.ems)
			ours := keys.context()
			if ours == nil {
				t.Fatalf("no context derived (failed %v)", keys.failed.Load())
			}
			cfg := srtp.Config{Profile: srtp.ProtectionProfile(tc.profile)}
			if err := cfg.ExtractSessionKeysFromDTLS(&state, false); err != nil {
				t.Fatal(err)
			}
			pions, err := srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile)
			if err != nil {
				t.Fatal(err)
			}
			for seq := uint16(65530); seq != 5; seq++ { // across a rollover
				pkt := rtpBytes(seq, uint32(seq)*90, false, true, bytes.Repeat([]byte{byte(seq)}, 300))
				a, err := ours.EncryptRTP(nil, pkt, &rtp.Header{})
				if err != nil {
					t.Fatal(err)
				}
				b, err := pions.EncryptRTP(nil, pkt, &rtp.Header{})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Fatalf("seq %d: sealed packets differ", seq)
				}
			}
			// Inbound (the own read path, rtpin.go): what pion's client side seals, a context
			// made from the remote key decrypts, across a rollover, and refuses a replay.
			remote, err := srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, cfg.Profile)
			if err != nil {
				t.Fatal(err)
			}
			in := keys.inKeys()
			if in == nil {
				t.Fatal("no inbound keys derived")
			}
			ctx, err := in.newContext(srtp.CryptexModeDisabled)
			if err != nil {
				t.Fatal(err)
			}
			for seq := uint16(65530); seq != 5; seq++ {
				payload := bytes.Repeat([]byte{byte(seq)}, 300)
				sealed, err := remote.EncryptRTP(nil, rtpBytes(seq, uint32(seq)*90, false, true, payload), &rtp.Header{})
				if err != nil {
					t.Fatal(err)
				}
				again := append([]byte(nil), sealed...)
				var h rtp.Header
				dec, err := ctx.DecryptRTP(sealed[:0], sealed, &h) // in place, as the socket goroutine does
				if err != nil || !bytes.Equal(dec[len(dec)-len(payload):], payload) {
					t.Fatalf("seq %d: decrypting pion's packet: %v", seq, err)
				}
				if _, err := ctx.DecryptRTP(nil, again, &h); err == nil {
					t.Fatalf("seq %d: a replayed packet was accepted", seq)
				}
			}
		})
	}
}

// handshakeDTLS runs a DTLS handshake over loopback UDP whose server has keys' hooks,
// and returns the server's connection state.
func handshakeDTLS(t *testing.T, keys *dtlsKeys, suite dtls.CipherSuiteID, profile dtls.SRTPProtectionProfile, ems dtls.ExtendedMasterSecretType) dtls.State {
	t.Helper()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	serverUDP := listenLoopbackUDP(t)
	clientUDP := listenLoopbackUDP(t)
	server, err := dtls.Server(serverUDP, clientUDP.LocalAddr(), &dtls.Config{
		Certificates: []tls.Certificate{cert}, CipherSuites: []dtls.CipherSuiteID{suite},
		SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{profile}, ExtendedMasterSecret: ems,
		KeyLogWriter: keys, ServerHelloMessageHook: keys.onServerHello,
	})
	if err != nil {
		t.Fatal(err)
	}
	client, err := dtls.Client(clientUDP, serverUDP.LocalAddr(), &dtls.Config{
		Certificates: []tls.Certificate{cert}, CipherSuites: []dtls.CipherSuiteID{suite},
		SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{profile}, ExtendedMasterSecret: ems,
		InsecureSkipVerify: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- client.HandshakeContext(ctx) }()
	if err := server.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	state, ok := server.ConnectionState()
	if !ok {
		t.Fatal("no connection state")
	}
	return state
}

func listenLoopbackUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// dtlsKeys gives up, and the Sender stays on pion's path, when the server is the DTLS
// client, when a key log line comes without a ServerHello, is malformed, or names a
// suite or profile it does not know; it handles one handshake per PeerConnection.
func TestDTLSKeysFallBack(t *testing.T) {
	line := "CLIENT_RANDOM " + strings.Repeat("ab", 32) + " " + strings.Repeat("cd", 48) + "\n"
	suite := uint16(dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	hello := func(suite uint16, profile uint16) func(*dtlsKeys) {
		return func(k *dtlsKeys) {
			k.onServerHello(handshake.MessageServerHello{CipherSuiteID: &suite})
			k.mu.Lock()
			k.profile = srtp.ProtectionProfile(profile)
			k.mu.Unlock()
		}
	}
	cases := []struct {
		name   string
		before func(*dtlsKeys)
		line   string
		want   bool // a context
	}{
		{"server hello then key log", hello(suite, uint16(srtp.ProtectionProfileAeadAes128Gcm)), line, true},
		{"client role", func(k *dtlsKeys) { k.onClientHello(handshake.MessageClientHello{}) }, line, false},
		{"no server hello", func(*dtlsKeys) {}, line, false},
		{"malformed line", hello(suite, uint16(srtp.ProtectionProfileAeadAes128Gcm)), line[:40] + "zz" + line[42:], false},
		{"short line", hello(suite, uint16(srtp.ProtectionProfileAeadAes128Gcm)), line[:50], false},
		{"unknown suite", hello(0x1301, uint16(srtp.ProtectionProfileAeadAes128Gcm)), line, false},
		{"unknown profile", hello(suite, 0x00ff), line, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := &dtlsKeys{}
			tc.before(k)
			if n, err := k.Write([]byte(tc.line)); err != nil || n != len(tc.line) {
				t.Fatalf("Write = %d, %v", n, err)
			}
			if got := k.context() != nil; got != tc.want {
				t.Fatalf("context derived %v, want %v", got, tc.want)
			}
			if k.failed.Load() == tc.want && !strings.Contains(tc.name, "client role") {
				t.Fatalf("failed = %v", k.failed.Load())
			}
			first := k.context()
			hello(suite, uint16(srtp.ProtectionProfileAeadAes128Gcm))(k)
			_, _ = k.Write([]byte(line)) // a second handshake changes nothing
			if k.context() != first {
				t.Fatal("a second key log line replaced the context")
			}
			k.forget()
			if k.context() != nil {
				t.Fatal("forget kept the context")
			}
		})
	}
}
