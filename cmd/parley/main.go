// Command parley is the Parley media server: a WebRTC SFU with a built-in call service.
//
//	parley [--config FILE] [--KEY=VALUE ...]      run the server (defaults serve 127.0.0.1:7880)
//	parley token --app ID --user ID [--ttl 1h]    print a userSig for development
//	parley token --user ID --room ROOM [--rights publish,subscribe]
//	                                              print a room grant for joinRoom
//	parley healthcheck [--url URL]                exit 0 when the server answers /healthz
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches the subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "token":
			return runToken(args[1:], stdout, stderr)
		case "healthcheck":
			return runHealthcheck(args[1:], stdout, stderr)
		case "serve":
			args = args[1:]
		case "help", "-h", "--help":
			fmt.Fprintln(stdout, usage)
			return 0
		}
	}
	return runServe(args, stdout, stderr)
}

const usage = `parley — WebRTC SFU with a built-in call service

Usage:
  parley [serve] [--config FILE] [--KEY=VALUE ...]   run the server
  parley token --app ID --user ID [--ttl 1h] [--config FILE]
                                                print a userSig (JWT HS256) for development
  parley token --app ID --user ID --room ROOM [--rights publish,subscribe] [--ttl 1h]
                                                print a room grant (JWT HS256) for joinRoom;
                                                ROOM 123 is an integer room, '"123"' or
                                                standup a string room
  parley healthcheck [--url http://127.0.0.1:7880/healthz]
                                                exit 0 when the server is healthy

Every configuration key is also a flag (--http.address, --rtc.node_ip, ...) and an
environment variable (PARLEY_HTTP_ADDRESS, PARLEY_RTC_NODE_IP, ...). See configs/parley.yaml.`
