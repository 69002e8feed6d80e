package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/ops/records"
	"github.com/parley-rtc/parley/ops/sqlrecords"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

const testAdminKey = "test-admin-key-0123456789-0123456789"

// getCalls calls the admin API with the given Authorization header ("" = none).
func getCalls(t *testing.T, r *running, query, auth string) (int, CallsResponse) {
	t.Helper()
	h := http.Header{}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	status, _, body := testhttp.Do(t, http.MethodGet, r.url("/api/v1/calls"+query), "", "", "", h)
	var out CallsResponse
	if status == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("calls API body %q: %v", body, err)
		}
	}
	return status, out
}

// TestRecordsSurviveRestartAndAdminAPI: a call's records are written to the database of
// each records.driver, are still there after the server restarts (queryRecentCalls and the
// admin API read them), and the admin API refuses a missing or wrong key.
func TestRecordsSurviveRestartAndAdminAPI(t *testing.T) {
	forEachRecordsDriver(t, testRecordsSurviveRestartAndAdminAPI)
}

func testRecordsSurviveRestartAndAdminAPI(t *testing.T, cfg configs.Config) {
	cfg.Admin.APIKey = testAdminKey
	first := startServe(t, cfg)
	alice, bob := login(t, first.wsURL(), "alice"), login(t, first.wsURL(), "bob")
	started := startCall(t, alice, bob)
	ctx := ctxFor(t, 20*time.Second)
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.WaitCallEnd(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "both records written", func() bool {
		m := scrape(t, first)
		return m["parley_records_written_total"] == 2 && m["parley_records_dropped_total"] == 0 && m["parley_records_queued"] == 0
	})
	if err, _ := first.stop(t, 20*time.Second); err != nil {
		t.Fatalf("first server: %v", err)
	}

	second := startServe(t, cfg)
	alice = login(t, second.wsURL(), "alice")
	recent, err := alice.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recent.Records) != 1 || recent.Records[0].CallID != started.CallID || recent.Records[0].Result != protocol.CallResultOutgoing {
		t.Fatalf("alice's history after restart: %+v", recent.Records)
	}

	auth := []struct {
		name   string
		header string
		want   int
	}{
		{"no key", "", http.StatusUnauthorized},
		{"wrong key", "Bearer " + testAdminKey + "x", http.StatusUnauthorized},
		{"key without Bearer", testAdminKey, http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
		{"right key", "Bearer " + testAdminKey, http.StatusOK},
		{"scheme in lower case", "bearer " + testAdminKey, http.StatusOK}, // RFC 7235 §2.1
		{"scheme in upper case", "BEARER " + testAdminKey, http.StatusOK},
		{"key of another case", "Bearer " + strings.ToUpper(testAdminKey), http.StatusUnauthorized},
	}
	for _, tt := range auth {
		if code, _ := getCalls(t, second, "?userId=alice", tt.header); code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, code, tt.want)
		}
	}
	key := "Bearer " + testAdminKey
	queries := []struct {
		query string
		want  int // records
	}{
		{"", 2},
		{"?userId=alice", 1},
		{"?sdkAppId=" + strconv.Itoa(signaling.DevSDKAppID) + "&userId=alice", 1},
		{"?sdkAppId=1400000002&userId=alice", 0}, // another app's alice (D26)
		{"?userId=bob&result=2", 1},
		{"?userId=bob&result=1", 0},
		{"?begin=" + strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10), 0},
		{"?end=" + strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) + "&limit=1", 1},
	}
	for _, tt := range queries {
		code, body := getCalls(t, second, tt.query, key)
		if code != http.StatusOK || len(body.Calls) != tt.want {
			t.Errorf("GET /api/v1/calls%s: %d with %d calls, want 200 with %d", tt.query, code, len(body.Calls), tt.want)
		}
	}
	// A query Go cannot parse (";" separator, bad escape) is refused, never answered
	// unfiltered (url.Values would drop the userId pair).
	for _, bad := range []string{"?result=9", "?begin=x", "?limit=0", "?begin=20&end=10", "?colour=blue", "?userId=alice;bob", "?userId=%zz", "?userId=alice&x;y", "?sdkAppId=0", "?sdkAppId=x", "?userId=a%20b", "?userId=" + strings.Repeat("a", protocol.MaxUserIDLength+1), "?userId=alice&userId=bob", "?limit=1&limit=2"} {
		if code, _ := getCalls(t, second, bad, key); code != http.StatusBadRequest {
			t.Errorf("GET /api/v1/calls%s: %d, want 400", bad, code)
		}
	}
}

// TestAdminAPIDisabledWithoutKey: with no admin.api_key nothing is served, whatever the
// request presents.
func TestAdminAPIDisabledWithoutKey(t *testing.T) {
	r := startServe(t, testConfig(t))
	for _, header := range []string{"", "Bearer ", "Bearer anything-at-all-here"} {
		if code, _ := getCalls(t, r, "", header); code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", header, code)
		}
	}
}

// TestSIGTERMDuringCallExitsZeroWithRecord sends a real SIGTERM to the test process while
// runServe (the command's code path) serves a call: the call ends with its records in the
// SQLite file and runServe returns exit code 0 once the drain timeout ends the call.
func TestSIGTERMDuringCallExitsZeroWithRecord(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "calls.db")
	port := freePort(t)
	drain := 4 * time.Second
	args := []string{
		"--http.address", fmt.Sprintf("127.0.0.1:%d", port), "--rtc.udp_port", "0", "--turn.enabled=false",
		"--http.drain_timeout", drain.String(), "--records.sqlite_path", dbPath, "--log.level", "error",
	}
	exit := make(chan int, 1)
	var stderr testservers.SyncBuffer
	go func() { exit <- run(args, io.Discard, &stderr) }()
	base := fmt.Sprintf("127.0.0.1:%d", port)
	eventually(t, 20*time.Second, "the server to answer /healthz", func() bool {
		select {
		case code := <-exit:
			t.Fatalf("parley exited %d: %s", code, stderr.String())
		default:
		}
		return httpStatus(t, "http://"+base+"/healthz", nil) == http.StatusOK
	})
	alice, bob := login(t, "ws://"+base+"/ws", "alice"), login(t, "ws://"+base+"/ws", "bob")
	started := startCall(t, alice, bob)

	sent := time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit code %d after SIGTERM: %s", code, stderr.String())
		}
		t.Logf("exited %s after SIGTERM (drain_timeout %s)", time.Since(sent), drain)
	case <-time.After(drain + 30*time.Second):
		// The call never ends by itself: only the drain deadline ends it. The slack is for a
		// busy machine, not a bound on how fast shutdown is.
		t.Fatalf("parley did not exit within drain_timeout %s (+30 s) after SIGTERM", drain)
	}
	if _, err := alice.WaitEvent(ctxFor(t, 5*time.Second), protocol.EventServerDraining, nil); err != nil {
		t.Fatalf("alice was not told the server drains: %v", err)
	}
	store, err := sqlrecords.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, user := range []string{"alice", "bob"} {
		recs, err := store.Query(context.Background(), signaling.DevSDKAppID, user, signaling.RecordQuery{})
		if err != nil || len(recs) != 1 || recs[0].CallID != started.CallID {
			t.Fatalf("%s's records after SIGTERM: %+v %v", user, recs, err)
		}
	}
}

// forEachRecordsDriver runs test once per records.driver, as a subtest named after it,
// with testConfig's configuration using that driver (postgres: a server of the
// subtest's own).
func forEachRecordsDriver(t *testing.T, test func(t *testing.T, cfg configs.Config)) {
	for _, driver := range []string{records.DriverSQLite, records.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			cfg := testConfig(t)
			if driver == records.DriverPostgres {
				cfg.Records.Driver, cfg.Records.PostgresDSN = driver, testservers.StartPostgres(t)
			}
			test(t, cfg)
		})
	}
}
