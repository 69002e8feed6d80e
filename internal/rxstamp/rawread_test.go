package rxstamp

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func listenLoopback(t *testing.T, network string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP(network, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Reader gives the datagram, its sender's address and a stamp, as Read does; with nothing
// waiting it asks Idle, returns ErrIdle when Idle says so and otherwise waits for the
// next datagram; a closed socket ends a waiting Read with net.ErrClosed.
func TestReaderReadsAndAsksIdle(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("raw reads on Linux only")
	}
	for _, kernel := range []bool{true, false} {
		conn := listenLoopback(t, "udp4")
		on := kernel && Enable(conn)
		r := NewReader(conn, on)
		var idles atomic.Int32
		busy := true
		r.Idle = func() bool { idles.Add(1); return busy }
		src := listenLoopback(t, "udp4")
		to := conn.LocalAddr().(*net.UDPAddr).AddrPort()
		before := time.Now().UnixNano()
		if _, err := src.WriteToUDPAddrPort([]byte("hello"), to); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		var n int
		var from netip.AddrPort
		var at int64
		var err error
		for { // the datagram may not have arrived yet: Idle says busy meanwhile
			n, from, at, err = r.Read(buf)
			if !errors.Is(err, ErrIdle) {
				break
			}
		}
		if err != nil || string(buf[:n]) != "hello" || from != src.LocalAddr().(*net.UDPAddr).AddrPort() {
			t.Fatalf("kernel %v: Read = %q from %v, %v; want hello from %v", kernel, buf[:n], from, err, src.LocalAddr())
		}
		if at < before-int64(time.Second) || at > time.Now().UnixNano() {
			t.Fatalf("kernel %v: stamp %d not between %d and now", kernel, at, before)
		}
		idles.Store(0)
		if _, _, _, err := r.Read(buf); !errors.Is(err, ErrIdle) || idles.Load() != 1 {
			t.Fatalf("kernel %v: Read with nothing waiting = %v after %d Idle calls, want ErrIdle after 1", kernel, err, idles.Load())
		}
		busy = false
		go func() {
			time.Sleep(20 * time.Millisecond)
			_, _ = src.WriteToUDPAddrPort([]byte("later"), to)
		}()
		if n, _, _, err := r.Read(buf); err != nil || string(buf[:n]) != "later" {
			t.Fatalf("kernel %v: waiting Read = %q, %v; want later", kernel, buf[:n], err)
		}
		done := make(chan error, 1)
		go func() { _, _, _, err := r.Read(buf); done <- err }()
		time.Sleep(10 * time.Millisecond)
		_ = conn.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("kernel %v: Read on a closed socket = %v, want net.ErrClosed", kernel, err)
		}
	}
}

// A Read allocates nothing.
func TestReaderDoesNotAllocate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("raw reads on Linux only")
	}
	conn := listenLoopback(t, "udp4")
	r := NewReader(conn, Enable(conn))
	src := listenLoopback(t, "udp4")
	to := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	buf := make([]byte, 1500)
	msg := []byte("0123456789")
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := src.WriteToUDPAddrPort(msg, to); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := r.Read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per read, want 0", allocs)
	}
}

// The sender's address is the net package's, on an IPv4 socket and on a dual-stack one
// (where an IPv4 sender is v4-mapped).
func TestReaderAddressesAsTheNetPackage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("raw reads on Linux only")
	}
	for _, bind := range []string{"127.0.0.1", "::"} {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(bind)})
		if err != nil {
			t.Skipf("%s: %v", bind, err)
		}
		src := listenLoopback(t, "udp4")
		to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), conn.LocalAddr().(*net.UDPAddr).AddrPort().Port())
		r := NewReader(conn, false)
		buf := make([]byte, 64)
		var want netip.AddrPort
		for _, raw := range []bool{false, true} {
			if _, err := src.WriteToUDPAddrPort([]byte("x"), to); err != nil {
				t.Fatal(err)
			}
			var from netip.AddrPort
			if raw {
				_, from, _, err = r.Read(buf)
			} else {
				_, from, _, err = Read(conn, false, buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			if raw && from != want {
				t.Errorf("bound to %s: Reader gives %v, the net package %v", bind, from, want)
			}
			want = from
		}
		_ = conn.Close()
	}
}
