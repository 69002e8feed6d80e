package audiolevel

import (
	"slices"
	"testing"
)

func TestRank(t *testing.T) {
	tests := []struct {
		name   string
		levels map[string]int
		want   []string
	}{
		{name: "nobody", levels: nil, want: []string{}},
		{name: "all silent", levels: map[string]int{"a": 0, "b": 0}, want: []string{}},
		{name: "loudest first", levels: map[string]int{"a": 10, "b": 80, "c": 40}, want: []string{"b", "c", "a"}},
		{name: "ties by id", levels: map[string]int{"zed": 50, "amy": 50, "bob": 50, "cat": 90}, want: []string{"cat", "amy", "bob", "zed"}},
		{name: "silent users left out", levels: map[string]int{"a": 0, "b": 3}, want: []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 20 { // map order varies per iteration; the result must not
				if got := Rank(tt.levels); !slices.Equal(got, tt.want) {
					t.Fatalf("Rank(%v) = %v, want %v", tt.levels, got, tt.want)
				}
			}
		})
	}
}
