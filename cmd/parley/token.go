package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/signaling"
)

// runToken prints a userSig for an app configured in auth.apps (the embedded defaults
// include the development app), for development and tests.
func runToken(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("token", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file holding auth.apps")
	app := fs.Int("app", signaling.DevSDKAppID, "SDKAppID to sign for")
	user := fs.String("user", "", "userId ([A-Za-z0-9_-]{1,64})")
	ttl := fs.Duration("ttl", time.Hour, "validity of the userSig")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *user == "" {
		fmt.Fprintln(stderr, "token: --user is required")
		return 2
	}
	cfg, err := configs.Load(*configPath, nil)
	if err != nil {
		fmt.Fprintf(stderr, "token: %v\n", err)
		return 2
	}
	verifier, err := signaling.NewVerifier(cfg.Auth)
	if err != nil {
		fmt.Fprintf(stderr, "token: %v\n", err)
		return 2
	}
	sig, err := verifier.Mint(*app, *user, *ttl, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "token: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, sig)
	return 0
}
