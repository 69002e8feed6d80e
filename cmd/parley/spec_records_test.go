package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/ops/webhooks"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// webhookSink is a webhook receiver on 127.0.0.1 that keeps the verified events.
type webhookSink struct {
	mu     sync.Mutex
	events []webhooks.Envelope
	raw    []json.RawMessage // each event's data, as sent
}

func newWebhookSink(t *testing.T, secret string) (*webhookSink, string) {
	t.Helper()
	s := &webhookSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhooks.Verify([]byte(secret), body, r.Header.Get(webhooks.SignatureHeader)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var env struct {
			webhooks.Envelope
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Errorf("webhook body %q: %v", body, err)
			return
		}
		s.mu.Lock()
		s.events = append(s.events, env.Envelope)
		s.raw = append(s.raw, env.Data)
		s.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL + "/hook"
}

// find waits for the first event named name whose data has callId, and decodes it into v.
func (s *webhookSink) find(t *testing.T, name, callID string, v any) json.RawMessage {
	t.Helper()
	var found json.RawMessage
	eventually(t, 20*time.Second, name+" of "+callID, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, e := range s.events {
			var id struct {
				CallID string `json:"callId"`
			}
			if e.Event == name && json.Unmarshal(s.raw[i], &id) == nil && id.CallID == callID {
				found = s.raw[i]
				return true
			}
		}
		return false
	})
	if err := json.Unmarshal(found, v); err != nil {
		t.Fatalf("%s data %s: %v", name, found, err)
	}
	return found
}

// members lists the JSON object's member names, sorted.
func members(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestSpecRecordsEverywhere checks D9 and D22 on the whole server: an invitation to an
// offline user yields the invitee_offline webhook (callId, caller profile, mediaType,
// offlinePushInfo, userData) and reaches the user on login; every call yields one record
// per user (callId, caller, invitees, scene, mediaType, groupId, role, result
// missed/incoming/outgoing, beginTime, totalTime) that is the same over the protocol
// (queryRecentCalls), the HTTP API (GET /api/v1/calls) and the call_ended webhook, and
// call_began / call_ended carry the call's fields. It runs with each records.driver.
func TestSpecRecordsEverywhere(t *testing.T) { forEachRecordsDriver(t, testSpecRecordsEverywhere) }

func testSpecRecordsEverywhere(t *testing.T, cfg configs.Config) {
	const secret = "spec-records-webhook-secret-0123"
	sink, hookURL := newWebhookSink(t, secret)
	cfg.Admin.APIKey = testAdminKey
	cfg.Webhooks.URLs = []string{hookURL}
	cfg.Webhooks.Secret = secret
	cfg.Webhooks.BackoffInitial = 20 * time.Millisecond
	r := startServe(t, cfg)
	ctx := ctxFor(t, 60*time.Second)

	alice := login(t, r.wsURL(), "alice")
	if err := alice.SetSelfInfo(ctx, "Alice", "https://example.com/alice.png"); err != nil {
		t.Fatal(err)
	}
	push := json.RawMessage(`{"title":"Alice","desc":"calls you","iOSPushType":1}`)

	// D9: bob is offline when alice calls him.
	single, err := alice.Call(ctx, "bob", protocol.MediaTypeVideo, protocol.CallParams{Timeout: 60, UserData: "ud-1", OfflinePushInfo: push})
	if err != nil {
		t.Fatal(err)
	}
	var offline webhooks.InviteeOfflineData
	raw := sink.find(t, webhooks.EventInviteeOffline, single.CallID, &offline)
	if offline.Invitee != "bob" || offline.CallerID != "alice" || offline.CallerNickname != "Alice" ||
		offline.CallerAvatar != "https://example.com/alice.png" || offline.MediaType != protocol.MediaTypeVideo ||
		offline.UserData != "ud-1" || !jsonEqual(offline.OfflinePushInfo, push) || offline.RoomID != single.RoomID ||
		offline.Scene != protocol.SceneSingle || offline.Timeout <= 0 || offline.Timeout > 60 ||
		offline.Invitation.CallID != single.CallID || !jsonEqual(offline.Invitation.OfflinePushInfo, push) {
		t.Fatalf("invitee_offline data %s", raw)
	}
	bob := login(t, r.wsURL(), "bob")
	inv, err := bob.WaitCallReceived(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if inv.CallID != single.CallID || inv.CallerID != "alice" || inv.UserData != "ud-1" || inv.CallerNickname != "Alice" {
		t.Fatalf("bob's invitation on login %+v", inv)
	}
	if err := bob.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.WaitCallBegin(ctx); err != nil {
		t.Fatal(err)
	}
	var began webhooks.CallData
	raw = sink.find(t, webhooks.EventCallBegan, single.CallID, &began)
	if began.Caller != "alice" || !slices.Equal(began.Invitees, []string{"bob"}) || began.Scene != protocol.SceneSingle ||
		began.MediaType != protocol.MediaTypeVideo || began.GroupID != "" || began.RoomID != single.RoomID ||
		began.BeginTime == 0 || began.BeginTime != began.BeganAt || began.Result != "" || len(began.Records) != 0 {
		t.Fatalf("call_began data %s", raw)
	}
	if got, want := members(t, raw), []string{"beganAt", "beginTime", "callId", "caller", "createdAt", "groupId", "invitees", "mediaType", "roomId", "scene", "totalTime"}; !slices.Equal(got, want) {
		t.Fatalf("call_began members %v, want %v", got, want)
	}
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.WaitCallEnd(ctx); err != nil {
		t.Fatal(err)
	}

	// A group call: bob answers, carol rejects (missed), alice hangs up.
	carol := login(t, r.wsURL(), "carol")
	group, err := alice.GroupCall(ctx, "team", []string{"bob", "carol"}, protocol.MediaTypeAudio, protocol.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{bob, carol} {
		if _, err := client.WaitFor(ctx, c, protocol.EventCallReceived, func(e protocol.CallReceivedEvent) bool { return e.CallID == group.CallID }); err != nil {
			t.Fatalf("%s: %v", c.UserID(), err)
		}
	}
	if err := carol.Reject(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bob.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := client.WaitFor(ctx, alice, protocol.EventCallBegin, func(e protocol.CallBeginEvent) bool { return e.CallID == group.CallID }); err != nil {
		t.Fatal(err)
	}
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.WaitFor(ctx, bob, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == group.CallID }); err != nil {
		t.Fatal(err)
	}

	type want struct {
		user   string
		role   protocol.Role
		result protocol.CallResult
	}
	calls := []struct {
		started  protocol.CallStartResult
		scene    protocol.Scene
		media    protocol.MediaType
		group    string
		invitees []string
		users    []want
	}{
		{single, protocol.SceneSingle, protocol.MediaTypeVideo, "", []string{"bob"}, []want{
			{"alice", protocol.RoleCaller, protocol.CallResultOutgoing},
			{"bob", protocol.RoleCalled, protocol.CallResultIncoming},
		}},
		{group, protocol.SceneGroup, protocol.MediaTypeAudio, "team", []string{"bob", "carol"}, []want{
			{"alice", protocol.RoleCaller, protocol.CallResultOutgoing},
			{"bob", protocol.RoleCalled, protocol.CallResultIncoming},
			{"carol", protocol.RoleCalled, protocol.CallResultMissed},
		}},
	}
	conns := map[string]*client.Conn{"alice": alice, "bob": bob, "carol": carol}
	for _, c := range calls {
		var ended webhooks.CallData
		raw := sink.find(t, webhooks.EventCallEnded, c.started.CallID, &ended)
		if ended.Caller != "alice" || !slices.Equal(ended.Invitees, c.invitees) || ended.Scene != c.scene || ended.MediaType != c.media ||
			ended.GroupID != c.group || ended.RoomID != c.started.RoomID || ended.Result != "answered" || ended.BeginTime == 0 ||
			ended.EndedAt < ended.BeganAt || ended.TotalTime < 0 || len(ended.Records) != len(c.users) {
			t.Fatalf("call_ended data %s", raw)
		}
		if got, want := members(t, raw), []string{"beganAt", "beginTime", "callId", "caller", "createdAt", "endedAt", "groupId", "invitees", "mediaType", "records", "result", "roomId", "scene", "totalTime"}; !slices.Equal(got, want) {
			t.Fatalf("call_ended members %v, want %v", got, want)
		}
		for _, w := range c.users {
			var hooked protocol.CallRecord
			for _, rec := range ended.Records {
				if rec.UserID == w.user {
					hooked = rec
				}
			}
			if hooked.CallID != c.started.CallID || hooked.Caller != "alice" || !slices.Equal(hooked.Invitees, c.invitees) ||
				hooked.Scene != c.scene || hooked.MediaType != c.media || hooked.GroupID != c.group || hooked.RoomID != c.started.RoomID ||
				hooked.Role != w.role || hooked.Result != w.result || hooked.BeginTime == 0 || hooked.TotalTime < 0 {
				t.Fatalf("call_ended record of %s: %+v, want role %d result %d", w.user, hooked, w.role, w.result)
			}
			if w.result == protocol.CallResultMissed && hooked.TotalTime != 0 {
				t.Fatalf("missed record with talk time: %+v", hooked)
			}
			// The protocol and the HTTP API give the same record.
			recent, err := conns[w.user].QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
			if err != nil {
				t.Fatal(err)
			}
			var viaProtocol protocol.CallRecord
			for _, rec := range recent.Records {
				if rec.CallID == c.started.CallID {
					viaProtocol = rec
				}
			}
			if !reflect.DeepEqual(viaProtocol, hooked) {
				t.Fatalf("%s: queryRecentCalls record %+v, webhook record %+v", w.user, viaProtocol, hooked)
			}
			code, body := getCalls(t, r, "?userId="+w.user, "Bearer "+testAdminKey)
			if code != http.StatusOK {
				t.Fatalf("calls API: %d", code)
			}
			var viaHTTP protocol.CallRecord
			for _, rec := range body.Calls {
				if rec.CallID == c.started.CallID {
					viaHTTP = rec
				}
			}
			if !reflect.DeepEqual(viaHTTP, hooked) {
				t.Fatalf("%s: calls API record %+v, webhook record %+v", w.user, viaHTTP, hooked)
			}
		}
	}

	// queryRecentCalls filters by result type; deleteRecordCalls removes only the user's own.
	missed, err := carol.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{ResultType: protocol.CallResultMissed})
	if err != nil || len(missed.Records) != 1 || missed.Records[0].CallID != group.CallID {
		t.Fatalf("carol's missed calls %+v %v", missed.Records, err)
	}
	if del, err := carol.DeleteRecordCalls(ctx, []string{group.CallID}); err != nil || !slices.Equal(del.Deleted, []string{group.CallID}) {
		t.Fatalf("delete %+v %v", del, err)
	}
	if _, body := getCalls(t, r, "?userId=carol", "Bearer "+testAdminKey); len(body.Calls) != 0 {
		t.Fatalf("carol's deleted record still in the calls API: %+v", body.Calls)
	}
	if _, body := getCalls(t, r, "?userId=bob", "Bearer "+testAdminKey); len(body.Calls) != 2 {
		t.Fatalf("carol's deletion touched bob's records: %+v", body.Calls)
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
