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
