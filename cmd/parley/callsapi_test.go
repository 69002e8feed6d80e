package main

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/parley-rtc/parley/ops/records"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// FuzzCallsFilter: any query string either is refused or gives a filter within bounds.
func FuzzCallsFilter(f *testing.F) {
	for _, seed := range []string{
		"", "userId=alice", "begin=1&end=2&result=3&limit=10", "begin=NaN", "end=-1", "result=4",
		"limit=1001", "begin=1e309", "userId=%zz", "a=b", "begin=2&end=1", "limit=0x10", "userId=a&userId=b",
		"userId=alice;bob", "userId=a;", ";", "userId=a&%",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", "/api/v1/calls", nil)
		req.URL.RawQuery = query
		fl, err := parseCallsFilter(req)
		if _, perr := url.ParseQuery(query); perr != nil && err == nil {
			t.Fatalf("%q does not parse (%v) but gave the filter %+v", query, perr, fl)
		}
		if err != nil {
			return
		}
		if fl.Begin < 0 || fl.End < 0 || (fl.End > 0 && fl.Begin > fl.End) || fl.Begin != fl.Begin || fl.End != fl.End {
			t.Fatalf("%q: bad window %v..%v", query, fl.Begin, fl.End)
		}
		if fl.Result < protocol.CallResultUnknown || fl.Result > protocol.CallResultOutgoing {
			t.Fatalf("%q: result %d", query, fl.Result)
		}
		if fl.Limit < 0 || fl.Limit > records.MaxListLimit || (fl.UserID != "" && !protocol.ValidUserID(fl.UserID)) {
			t.Fatalf("%q: limit %d, user %d bytes", query, fl.Limit, len(fl.UserID))
		}
	})
}
