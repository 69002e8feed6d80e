package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// runToken prints a userSig, or with --room a room grant, for an app configured in
// auth.apps (the embedded defaults include the development app), for development and
// tests.
func runToken(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("token", pflag.ContinueOnError)
	configPath := fs.String("config", "", "YAML configuration file holding auth.apps")
	app := fs.Int("app", signaling.DevSDKAppID, "SDKAppID to sign for")
	user := fs.String("user", "", "userId ([A-Za-z0-9_-]{1,64})")
	ttl := fs.Duration("ttl", time.Hour, "validity of the token")
	room := fs.String("room", "", `print a room grant for this room instead of a userSig: digits are an integer room (123), a JSON string a string room ('"123"'), anything else a string room (standup)`)
	rightsFlag := fs.String("rights", "publish,subscribe", "with --room: the rights of the grant, comma-separated: publish, subscribe or both")
	if code, ok := parseFlags(fs, "Usage:\n"+tokenUsage, args, stdout, stderr); !ok {
		return code
	}
	if *user == "" {
		fmt.Fprintln(stderr, "token: --user is required")
		return 2
	}
	var (
		roomID protocol.RoomID
		rights signaling.Rights
	)
	if fs.Changed("room") {
		var err error
		if roomID, err = parseRoomFlag(*room); err != nil {
			fmt.Fprintf(stderr, "token: --room: %v\n", err)
			return 2
		}
		if rights, err = protocol.ParseRoomRights(strings.Split(*rightsFlag, ",")); err != nil {
			fmt.Fprintf(stderr, "token: --rights: %v\n", err)
			return 2
		}
	} else if fs.Changed("rights") {
		fmt.Fprintln(stderr, "token: --rights needs --room")
		return 2
	}
	auth, err := configs.LoadAuth(*configPath) // the auth section only: a server's DSN or webhook secret may be in its env
	if err != nil {
		fmt.Fprintf(stderr, "token: %v\n", err)
		return 2
	}
	verifier, err := signaling.NewVerifier(auth)
	if err != nil {
		fmt.Fprintf(stderr, "token: %v\n", err)
		return 2
	}
	var tok string
	if roomID.IsZero() {
		tok, err = verifier.Mint(*app, *user, *ttl, time.Now())
	} else {
		tok, err = verifier.MintRoomGrant(*app, *user, roomID, rights, *ttl, time.Now())
	}
	if err != nil {
		fmt.Fprintf(stderr, "token: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// integerLike matches what --room reads as an integer room (a sign is accepted so that
// "-5" is refused as an integer out of range rather than taken as a string room).
var integerLike = regexp.MustCompile(`^[+-]?[0-9]+$`)

// parseRoomFlag reads --room: digits are an integer room, a JSON-quoted string a string
// room (the way to name a string room of digits: '"123"'), anything else a string room.
// The id must be valid (1..2147483647, or 1..64 allowed characters).
func parseRoomFlag(s string) (protocol.RoomID, error) {
	var id protocol.RoomID
	switch {
	case strings.HasPrefix(s, `"`):
		var str string
		if err := json.Unmarshal([]byte(s), &str); err != nil {
			return id, fmt.Errorf("%s is not a JSON string: %v", s, err)
		}
		id = protocol.StrRoom(str)
	case integerLike.MatchString(s):
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 || n > protocol.MaxIntRoomID {
			return id, fmt.Errorf("integer room %s is outside 1..%d (for a string room write '\"%s\"')", s, protocol.MaxIntRoomID, s)
		}
		id = protocol.IntRoom(n)
	default:
		id = protocol.StrRoom(s)
	}
	if !protocol.ValidRoomID(id) {
		return protocol.RoomID{}, fmt.Errorf("%s is not a room id: 1..%d bytes of letters, digits, space and !#$%%&()+-:;<=.>?@[]^_{}|~,", id, protocol.MaxStrRoomIDSize)
	}
	return id, nil
}
