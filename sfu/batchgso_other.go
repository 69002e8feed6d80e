//go:build !linux

package sfu

// gsoSupported: UDP segmentation offload is Linux's; elsewhere runs are not coalesced.
const gsoSupported = false

var gsoControlLen = 0

func putGSOControl([]byte, int) {}
