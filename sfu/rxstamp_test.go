package sfu

import (
	"encoding/binary"
	"net"
	"runtime"
	"testing"
	"time"
)

// TestStampingConnUsesKernelReceiveTime: a datagram that waits in the socket buffer
// before the read goroutine gets to it (as on a stalled server) is stamped with the time
// the kernel received it, not with the time of the read; reading allocates nothing.
func TestStampingConnUsesKernelReceiveTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("kernel receive timestamps are read on Linux only")
	}
	server, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	client, err := net.DialUDP("udp", nil, server.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c := newStampingConn(server, &arrivalStamps{})
	if !c.kernel {
		t.Fatal("SO_TIMESTAMPNS was not enabled on the UDP socket")
	}
	pkt := make([]byte, 100)
	pkt[0], pkt[1] = 0x80, 96 // RTP version 2, payload type 96
	binary.BigEndian.PutUint32(pkt[8:], 0x1234)
	buf := make([]byte, 1500)
	send := func(seq uint16) {
		binary.BigEndian.PutUint16(pkt[2:], seq)
		if _, err := client.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}

	const wait = 100 * time.Millisecond
	// The kernel turns receive timestamping on a moment after the first socket asks
	// (until then recvmsg stamps at the read): warm up until a datagram that waited
	// carries a stamp from before the wait.
	kernelStamped := func(seq uint16, wait time.Duration) bool {
		send(seq)
		time.Sleep(wait)
		readAt := time.Now()
		if _, _, err := c.ReadFromAddrPort(buf); err != nil {
			t.Fatal(err)
		}
		at, ok := c.stamps.arrival(0x1234, seq, time.Now().UnixNano())
		return ok && at < readAt.UnixNano()-int64(wait/2)
	}
	for i := 0; !kernelStamped(60000, 20*time.Millisecond); i++ {
		if i == 100 {
			t.Fatal("datagrams are not stamped with the kernel's receive time")
		}
	}

	sentAt := time.Now()
	send(1)
	time.Sleep(wait) // the datagram waits in the socket buffer
	readAt := time.Now()
	if _, _, err := c.ReadFromAddrPort(buf); err != nil {
		t.Fatal(err)
	}
	at, ok := c.stamps.arrival(0x1234, 1, time.Now().UnixNano())
	if !ok {
		t.Fatal("no arrival stamp")
	}
	if at < sentAt.UnixNano() || at > readAt.UnixNano()-int64(wait/2) {
		t.Fatalf("arrival stamped %s after the send and %s before the read, want the kernel's receive time (before the %s wait)",
			time.Duration(at-sentAt.UnixNano()), time.Duration(readAt.UnixNano()-at), wait)
	}

	seq := uint16(2)
	allocs := testing.AllocsPerRun(100, func() {
		send(seq)
		if _, _, err := c.ReadFromAddrPort(buf); err != nil {
			t.Fatal(err)
		}
		seq++
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per read", allocs)
	}
}

// TestRxTimestampParsesControlMessages: the SCM_TIMESTAMPNS message is found after
// another control message; truncated or foreign messages give 0.
func TestRxTimestampParsesControlMessages(t *testing.T) {
	cmsg := func(level, typ int32, data []byte) []byte {
		b := make([]byte, 16, 16+len(data)+8)
		binary.NativeEndian.PutUint64(b, uint64(16+len(data)))
		binary.NativeEndian.PutUint32(b[8:], uint32(level))
		binary.NativeEndian.PutUint32(b[12:], uint32(typ))
		b = append(b, data...)
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		return b
	}
	ts := make([]byte, 16)
	binary.NativeEndian.PutUint64(ts, 1_700_000_000)
	binary.NativeEndian.PutUint64(ts[8:], 123)
	want := int64(1_700_000_000)*int64(time.Second) + 123
	stamp := cmsg(solSocket, scmTimestampNS, ts)
	other := cmsg(0, 8, []byte{1, 2, 3, 4}) // IPPROTO_IP, IP_TOS-like
	tests := []struct {
		name string
		oob  []byte
		want int64
	}{
		{"timestamp", stamp, want},
		{"after another message", append(append([]byte{}, other...), stamp...), want},
		{"none", other, 0},
		{"empty", nil, 0},
		{"truncated", stamp[:20], 0},
		{"length beyond the buffer", func() []byte { b := append([]byte{}, stamp...); binary.NativeEndian.PutUint64(b, 1000); return b }(), 0},
	}
	for _, tc := range tests {
		if got := rxTimestamp(tc.oob); got != tc.want && runtime.GOOS == "linux" {
			t.Errorf("%s: rxTimestamp = %d, want %d", tc.name, got, tc.want)
		}
	}
}
