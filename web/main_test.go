package web

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"go.uber.org/goleak"
)

// netnsEnv marks a test process that already runs in its own network namespace.
const netnsEnv = "PARLEY_WEB_TEST_NETNS"

// TestMain runs the package's tests inside a private network namespace with only a
// loopback interface (the browser tests' Chromium must not see another address): the test
// binary re-executes itself under `unshare -n` unless it is already there.
func TestMain(m *testing.M) {
	if os.Getenv(netnsEnv) == "" {
		os.Exit(reexecInNetworkNamespace())
	}
	goleak.VerifyTestMain(m)
}

// reexecInNetworkNamespace runs this test binary again with the same arguments inside a
// new network namespace whose loopback is up, and returns its exit code.
func reexecInNetworkNamespace() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "web tests: cannot find the test binary:", err)
		return 1
	}
	flags := "-n"
	if os.Geteuid() != 0 {
		flags = "-rn" // an unprivileged user namespace maps the caller to root
	}
	args := append([]string{flags, "sh", "-c", `ip link set lo up && exec "$0" "$@"`, exe}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, "web tests: cannot run in a private network namespace (unshare and ip from util-linux/iproute2 are needed):", err)
		return 1
	}
}
