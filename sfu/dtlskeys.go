package sfu

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"sync"
	"sync/atomic"

	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// dtlsKeys learns the SRTP keys of one subscriber PeerConnection from its DTLS handshake
// through pion's public hooks (decision D235), so that its Sender can seal and send RTP
// itself (rtpout.go): the ServerHello hook sees the server random, the cipher suite and
// the SRTP protection profile the server chose; the key log writer receives
// "CLIENT_RANDOM <client random> <master secret>" when the master secret is known
// (the extended one with extended master secret). The keys are the DTLS-SRTP exporter
// (RFC 5764 4.2): the TLS 1.2 PRF of the master secret over "EXTRACTOR-dtls_srtp" +
// client random + server random, what pion's own SRTP session is keyed with.
//
// Only the DTLS server role is handled: as a client the server random arrives in a
// ServerHello no hook shows, so a ClientHello sent marks the keys unavailable and the
// Sender stays on pion's path. Each PeerConnection has its own dtlsKeys (its own
// SettingEngine, Engine.subscriberAPI), so no map and nothing a client can grow: one
// handshake per PeerConnection is handled, a later one (pion runs none) is ignored.
//
// Secrets: the master secret is decoded into a local array, used, and zeroed; the key
// log line itself is pion's buffer (io.Writer must not modify it). Nothing is logged.
// The SRTP context holds the derived session keys as pion's does.
type dtlsKeys struct {
	mu           sync.Mutex
	helloSeen    bool // a ServerHello was sent: the server is the DTLS server
	finished     bool // a key log line was handled (keys derived or failed)
	serverRandom [handshake.RandomLength]byte
	suite        uint16
	profile      srtp.ProtectionProfile

	ctx    atomic.Pointer[srtp.Context] // the outbound SRTP context, once derived
	failed atomic.Bool                  // no keys will come (client role, unknown suite or profile)

	// inbound: derive the remote (client) write key and salt too, kept in in for the
	// publisher's own read path (rtpin.go, D255); set before the PeerConnection is built.
	inbound bool
	in      atomic.Pointer[inboundKeys]
}

// inboundKeys is the client's SRTP write key and salt: each stream the own read path
// takes gets its own context made from them (newContext), so no context is shared
// between goroutines.
type inboundKeys struct {
	key, salt []byte
	profile   srtp.ProtectionProfile
}

// srtpReplayWindow is the SRTP replay window of an inbound context, pion's session default.
const srtpReplayWindow = 64

// newContext is a fresh inbound SRTP context (replay protection on) with cryptex mode.
func (i *inboundKeys) newContext(cryptex srtp.CryptexMode) (*srtp.Context, error) {
	return srtp.CreateContext(i.key, i.salt, i.profile, srtp.SRTPReplayProtection(srtpReplayWindow),
		srtp.Cryptex(cryptex))
}

// newRTCPContext is a fresh inbound SRTCP context (replay protection on): a subscriber's
// own SRTCP read path (rtcpin.go, D325).
func (i *inboundKeys) newRTCPContext() (*srtp.Context, error) {
	return srtp.CreateContext(i.key, i.salt, i.profile, srtp.SRTCPReplayProtection(srtpReplayWindow))
}

// configure installs the hooks on s (a copy owned by one PeerConnection's API).
func (k *dtlsKeys) configure(s *webrtc.SettingEngine) {
	s.SetDTLSKeyLogWriter(k)
	s.SetDTLSServerHelloMessageHook(k.onServerHello)
	s.SetDTLSClientHelloMessageHook(k.onClientHello)
}

// onServerHello records what the server chose; the message is sent unchanged.
func (k *dtlsKeys) onServerHello(m handshake.MessageServerHello) handshake.Message {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.finished {
		return &m
	}
	k.helloSeen = true
	k.serverRandom = m.Random.MarshalFixed()
	k.suite = 0
	if m.CipherSuiteID != nil {
		k.suite = *m.CipherSuiteID
	}
	k.profile = 0
	for _, e := range m.Extensions {
		if u, ok := e.(*extension.UseSRTP); ok && len(u.ProtectionProfiles) == 1 {
			k.profile = srtp.ProtectionProfile(u.ProtectionProfiles[0])
		}
	}
	return &m
}

// onClientHello: the server is the DTLS client, whose keys are not handled.
func (k *dtlsKeys) onClientHello(m handshake.MessageClientHello) handshake.Message {
	k.failed.Store(true)
	return &m
}

// keyLogLabel starts the key log line of a TLS 1.2 master secret (the only one DTLS 1.2 has).
const keyLogLabel = "CLIENT_RANDOM "

// Write receives one key log line and derives the outbound SRTP context from it. It
// never fails toward pion (which would only log it).
func (k *dtlsKeys) Write(line []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.finished {
		return len(line), nil
	}
	k.finished = true
	ctx, ok := k.deriveLocked(line)
	if !ok {
		k.failed.Store(true)
		return len(line), nil
	}
	k.ctx.Store(ctx)
	return len(line), nil
}

// deriveLocked parses line and builds the server's outbound SRTP context.
func (k *dtlsKeys) deriveLocked(line []byte) (*srtp.Context, bool) {
	var clientRandom [handshake.RandomLength]byte
	var master [48]byte
	defer clear(master[:])
	// "CLIENT_RANDOM " + 64 hex + " " + 96 hex + "\n"
	const want = len(keyLogLabel) + 2*len(clientRandom) + 1 + 2*len(master) + 1
	if !k.helloSeen || len(line) != want || string(line[:len(keyLogLabel)]) != keyLogLabel {
		return nil, false
	}
	rest := line[len(keyLogLabel):]
	if _, err := hex.Decode(clientRandom[:], rest[:2*len(clientRandom)]); err != nil {
		return nil, false
	}
	rest = rest[2*len(clientRandom)+1:]
	if _, err := hex.Decode(master[:], rest[:2*len(master)]); err != nil {
		return nil, false
	}
	hash := prfHash(k.suite)
	keyLen, err1 := k.profile.KeyLen()
	saltLen, err2 := k.profile.SaltLen()
	if hash == nil || err1 != nil || err2 != nil {
		return nil, false
	}
	seed := make([]byte, 0, len(srtpExporterLabel)+2*handshake.RandomLength)
	seed = append(append(append(seed, srtpExporterLabel...), clientRandom[:]...), k.serverRandom[:]...)
	material, err := prf.PHash(master[:], seed, 2*(keyLen+saltLen), hash)
	if err != nil {
		return nil, false
	}
	defer clear(material)
	// client key, server key, client salt, server salt; the server writes with its own.
	if k.inbound {
		k.in.Store(&inboundKeys{
			key:     append([]byte(nil), material[:keyLen]...),
			salt:    append([]byte(nil), material[2*keyLen:2*keyLen+saltLen]...),
			profile: k.profile,
		})
	}
	serverKey := material[keyLen : 2*keyLen]
	serverSalt := material[2*keyLen+saltLen:]
	ctx, err := srtp.CreateContext(serverKey, serverSalt, k.profile)
	if err != nil {
		return nil, false
	}
	return ctx, true
}

// srtpExporterLabel is RFC 5764's exporter label for DTLS-SRTP keys.
const srtpExporterLabel = "EXTRACTOR-dtls_srtp"

// prfHash is the TLS 1.2 PRF hash of the cipher suites pion negotiates (dtls's
// ciphersuite package: SHA-384 for the AES-256-GCM suites, SHA-256 for the others);
// nil for a suite not listed here (the Sender then stays on pion's path).
func prfHash(suite uint16) prf.HashFunc {
	switch suite {
	case 0xc02c, 0xc030: // TLS_ECDHE_{ECDSA,RSA}_WITH_AES_256_GCM_SHA384
		return sha512.New384
	case 0xc02b, 0xc02f, // TLS_ECDHE_{ECDSA,RSA}_WITH_AES_128_GCM_SHA256
		0xc00a, 0xc014, // TLS_ECDHE_{ECDSA,RSA}_WITH_AES_256_CBC_SHA
		0xcca9, 0xcca8, // TLS_ECDHE_{ECDSA,RSA}_WITH_CHACHA20_POLY1305_SHA256
		0xc0ac, 0xc0ae: // TLS_ECDHE_ECDSA_WITH_AES_128_CCM(_8)
		return sha256.New
	}
	return nil
}

// context is the outbound SRTP context, nil until derived.
func (k *dtlsKeys) context() *srtp.Context { return k.ctx.Load() }

// forget drops the context (the Subscriber closed; its Sender has stopped) and the
// inbound keys (the Publisher closed).
func (k *dtlsKeys) forget() {
	k.ctx.Store(nil)
	if in := k.in.Swap(nil); in != nil {
		clear(in.key)
		clear(in.salt)
	}
}

// inKeys is the client's write key and salt, nil until derived (and without
// inbound).
func (k *dtlsKeys) inKeys() *inboundKeys { return k.in.Load() }
