package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches the subcommand and returns the process exit code: 0 done, 1 failed,
// 2 bad usage. Without a subcommand (no arguments, or flags first) it runs the server; a
// first argument that is neither a flag nor a subcommand is refused, so a mistyped
// subcommand never starts a server.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return runServe(args, stdout, stderr)
	}
	switch args[0] {
	case "serve":
		return runServe(args[1:], stdout, stderr)
	case "token":
		return runToken(args[1:], stdout, stderr)
	case "healthcheck":
		return runHealthcheck(args[1:], stdout, stderr)
	case "help": // parley help [COMMAND]
		if len(args) > 1 && args[1] != "serve" {
			return run([]string{args[1], "--help"}, stdout, stderr)
		}
		return runServe([]string{"--help"}, stdout, stderr)
	}
	fmt.Fprintf(stderr, "parley: unknown command %q; the commands are serve (the default), token, healthcheck and help\n\n%s\n", args[0], usage)
	return 2
}

// parseFlags parses a subcommand's flags; synopsis is its usage line(s). -h or --help
// prints the usage (synopsis and flags) to stdout and returns 0; a bad flag or a stray
// argument prints the error and the usage to stderr and returns 2. ok is true when the
// command should go on.
func parseFlags(fs *pflag.FlagSet, synopsis string, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	fs.Usage = func() {} // pflag would print to its output; the usage goes where it belongs below
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, pflag.ErrHelp):
		fmt.Fprintf(stdout, "%s\n\nFlags:\n%s", synopsis, fs.FlagUsages())
		return 0, false
	default:
		fmt.Fprintf(stderr, "%s: %v\n\n%s\n\nFlags:\n%s", fs.Name(), err, synopsis, fs.FlagUsages())
		return 2, false
	}
}

// usage is the synopsis of every command: `parley help` and the server's --help print it
// with the server's flags.
const usage = `parley — WebRTC SFU with a built-in call service

Usage:
  parley [serve] [--config FILE] [--KEY=VALUE ...]   run the server
` + tokenUsage + "\n" + healthcheckUsage + `

Every configuration key is also a flag (--http.address, --rtc.node_ip, ...) and an
environment variable (PARLEY_HTTP_ADDRESS, PARLEY_RTC_NODE_IP, ...). See configs/parley.yaml.`

const tokenUsage = `  parley token --app ID --user ID [--ttl 1h] [--config FILE]
                                                print a userSig (JWT HS256) for development
  parley token --app ID --user ID --room ROOM [--rights publish,subscribe] [--ttl 1h]
                                                print a room grant (JWT HS256) for joinRoom;
                                                ROOM 123 is an integer room, '"123"' or
                                                standup a string room`

const healthcheckUsage = `  parley healthcheck [--url http://127.0.0.1:7880/healthz] [--timeout 3s]
                                                exit 0 when the server is healthy`
