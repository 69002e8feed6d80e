package records

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// The drivers' call_records tables have the same columns; these helpers are what their
// SQL shares, so both drivers answer alike.

// Columns are the call_records columns a record is written to and read from, in the order
// of EncodeColumns' values and of a SELECT that DecodeColumns reads.
const Columns = "sdk_app_id, call_id, user_id, caller, invitees, scene, media_type, group_id, room_id, role, result, begin_time, total_time"

// EncodeColumns returns r's values for Columns: invitees (never null) and the room id (a
// number or a string) as JSON text.
func EncodeColumns(r protocol.CallRecord) ([]any, error) {
	inv, err := inviteesJSON(r.Invitees)
	if err != nil {
		return nil, fmt.Errorf("add call record %s: %w", r.CallID, err)
	}
	// RoomID's own encoding is already compact JSON: what json.Marshal would return.
	room, err := r.RoomID.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("add call record %s: %w", r.CallID, err)
	}
	return []any{r.SDKAppID, r.CallID, r.UserID, r.Caller, string(inv), int(r.Scene), int(r.MediaType),
		r.GroupID, string(room), int(r.Role), int(r.Result), r.BeginTime, r.TotalTime}, nil
}

// inviteesJSON is json.Marshal of invitees (nil as []), written directly when every user
// id is printable ASCII that encoding/json copies unchanged (D198).
func inviteesJSON(invitees []string) ([]byte, error) {
	n := 2
	for _, id := range invitees {
		for i := 0; i < len(id); i++ {
			if c := id[i]; c < ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return json.Marshal(invitees)
			}
		}
		n += len(id) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, id := range invitees {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, id...)
		b = append(b, '"')
	}
	return append(b, ']'), nil
}

// Row is what a driver scans a SELECT of Columns into; Record makes the record of it.
type Row struct {
	rec                        protocol.CallRecord
	invitees, room             []byte
	scene, media, role, result int
}

// Dest are the scan destinations of Columns.
func (w *Row) Dest() []any {
	r := &w.rec
	return []any{&r.SDKAppID, &r.CallID, &r.UserID, &r.Caller, &w.invitees, &w.scene, &w.media, &r.GroupID, &w.room,
		&w.role, &w.result, &r.BeginTime, &r.TotalTime}
}

// Record is the record scanned into w.
func (w *Row) Record() (protocol.CallRecord, error) {
	r := w.rec
	r.Scene, r.MediaType, r.Role, r.Result = protocol.Scene(w.scene), protocol.MediaType(w.media), protocol.Role(w.role), protocol.CallResult(w.result)
	if err := json.Unmarshal(w.invitees, &r.Invitees); err != nil {
		return r, fmt.Errorf("read call record %s: invitees: %w", r.CallID, err)
	}
	if err := json.Unmarshal(w.room, &r.RoomID); err != nil {
		return r, fmt.Errorf("read call record %s: room id: %w", r.CallID, err)
	}
	return r, nil
}

// Rows is what both drivers' query results offer (database/sql's *Rows, pgx.Rows).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanAll reads every row of a SELECT of Columns; on an error it returns no records.
func ScanAll(rows Rows) ([]protocol.CallRecord, error) {
	out := []protocol.CallRecord{}
	for rows.Next() {
		var row Row
		if err := rows.Scan(row.Dest()...); err != nil {
			return nil, fmt.Errorf("read call record: %w", err)
		}
		r, err := row.Record()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ListQuery is the SELECT of List for f: newest first (insertion order breaks ties), at
// most f's limit. param(n, v) is the driver's placeholder for the n-th argument, of value
// v (? for SQLite, $n for PostgreSQL).
func (f Filter) ListQuery(param func(n int, v any) string) (string, []any) {
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+param(len(args), v))
	}
	if f.SDKAppID != 0 {
		arg("sdk_app_id = ", f.SDKAppID)
	}
	if f.UserID != "" {
		arg("user_id = ", f.UserID)
	}
	if f.Begin > 0 {
		arg("begin_time >= ", f.Begin)
	}
	if f.End > 0 {
		arg("begin_time <= ", f.End)
	}
	if f.Result != protocol.CallResultUnknown {
		arg("result = ", int(f.Result))
	}
	query := "SELECT " + Columns + " FROM call_records"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.EffectiveLimit())
	return query + " ORDER BY begin_time DESC, seq DESC LIMIT " + param(len(args), f.EffectiveLimit()), args
}

// Deleted is the answer of Delete: the callIDs asked for that gone holds, in the order
// asked, once each.
func Deleted(callIDs, gone []string) []string {
	deleted := []string{}
	for _, id := range callIDs {
		if slices.Contains(gone, id) && !slices.Contains(deleted, id) {
			deleted = append(deleted, id)
		}
	}
	return deleted
}
