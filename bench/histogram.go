package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram buckets: 16 linear sub-buckets per power of two of the value in microseconds,
// so a quantile is off by at most 1/16 (6 %) of its value; values reach ~2^40 µs.
const (
	histSubBits    = 4
	histSubBuckets = 1 << histSubBits
	histPowers     = 41
	histBuckets    = histPowers * histSubBuckets
)

// Histogram records durations with bounded relative error and no allocation. Record and
// Quantile are safe for concurrent use (every bucket is an atomic counter).
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	total  atomic.Uint64
	sumUs  atomic.Uint64
	maxUs  atomic.Uint64
}

func histIndex(us uint64) int {
	if us < histSubBuckets {
		return int(us)
	}
	power := bits.Len64(us) - histSubBits // ≥ 1
	sub := int(us>>(power-1)) & (histSubBuckets - 1)
	idx := power*histSubBuckets + sub
	if idx >= histBuckets {
		return histBuckets - 1
	}
	return idx
}

// histLower is the smallest value (µs) of bucket idx.
func histLower(idx int) uint64 {
	if idx < histSubBuckets {
		return uint64(idx)
	}
	power, sub := idx/histSubBuckets, idx%histSubBuckets
	return uint64(histSubBuckets+sub) << (power - 1)
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	us := uint64(0)
	if d > 0 {
		us = uint64(d / time.Microsecond)
	}
	h.counts[histIndex(us)].Add(1)
	h.total.Add(1)
	h.sumUs.Add(us)
	for {
		cur := h.maxUs.Load()
		if us <= cur || h.maxUs.CompareAndSwap(cur, us) {
			return
		}
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Quantile returns the q-quantile (0..1): the midpoint of the bucket holding it, or 0
// without values.
func (h *Histogram) Quantile(q float64) time.Duration {
	total := h.total.Load()
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total-1)) + 1
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo := histLower(i)
			hi := lo + 1
			if i+1 < histBuckets {
				hi = histLower(i + 1)
			}
			return time.Duration((lo+hi)/2) * time.Microsecond
		}
	}
	return time.Duration(h.maxUs.Load()) * time.Microsecond
}

// Summary is a histogram's figures in milliseconds.
type Summary struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Summary returns the count, mean, p50/p95/p99 and max.
func (h *Histogram) Summary() Summary {
	n := h.total.Load()
	if n == 0 {
		return Summary{}
	}
	return Summary{
		Count: n,
		Mean:  float64(h.sumUs.Load()) / float64(n) / 1000,
		P50:   ms(h.Quantile(0.50)),
		P95:   ms(h.Quantile(0.95)),
		P99:   ms(h.Quantile(0.99)),
		Max:   float64(h.maxUs.Load()) / 1000,
	}
}
