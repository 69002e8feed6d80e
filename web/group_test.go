package web

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// groupWatchTime is how long TestBrowserGroupCallStability watches the call.
const groupWatchTime = 30 * time.Second

// remoteVideoJS reports, per remote user of the page, the receiving inbound-rtp video
// stats of that user's track (matched by track id).
const remoteVideoJS = `(async () => {
  const e = window.parleyDemo.engine, out = {};
  const s = await e.getStats();
  if (!s) return out;
  const users = {};
  for (const [userId, r] of e._remote) if (r.video) users[r.video.id] = userId;
  s.subscriber.forEach((r) => {
    const userId = r.type === 'inbound-rtp' && r.kind === 'video' && users[r.trackIdentifier];
    if (!userId) return;
    out[userId] = {framesDecoded: r.framesDecoded || 0, width: r.frameWidth || 0, height: r.frameHeight || 0,
      freezeCount: r.freezeCount || 0, totalFreezesDuration: r.totalFreezesDuration || 0};
  });
  return out;
})()`

// startVideoStabilitySampler samples remoteVideoJS every 500 ms in the page and counts,
// per remote user, the changes of the received frame size (window.videoSamples).
const startVideoStabilitySampler = `(async () => {
  const sample = ` + remoteVideoJS + `;
  const first = await sample;
  const acc = {samples: 0, start: first, last: first, sizes: {}, changes: {}};
  for (const [u, v] of Object.entries(first)) { acc.sizes[u] = [v.width + 'x' + v.height]; acc.changes[u] = 0; }
  window.videoSamples = acc;
  window.videoSampler = setInterval(async () => {
    const now = await (` + remoteVideoJS + `);
    acc.samples++;
    for (const [u, v] of Object.entries(now)) {
      const size = v.width + 'x' + v.height, seen = acc.sizes[u] || (acc.sizes[u] = []);
      if (seen.length > 0 && seen[seen.length - 1] !== size) acc.changes[u] = (acc.changes[u] || 0) + 1;
      if (seen.length === 0 || seen[seen.length - 1] !== size) seen.push(size);
    }
    acc.last = now;
  }, 500);
  return true;
})()`

// publisherPressureJS reports the page's send side: Chromium's send bandwidth estimate
// (availableOutgoingBitrate of the nominated candidate pair, bit/s) and how long its video
// encoder has been limited by bandwidth and by CPU (qualityLimitationDurations, seconds;
// the largest over the simulcast layers).
const publisherPressureJS = `(async () => {
  const s = await window.parleyDemo.engine.getStats();
  const out = {estimate: 0, bandwidth: 0, cpu: 0};
  if (!s) return out;
  s.publisher.forEach((r) => {
    if (r.type === 'candidate-pair' && r.nominated && r.availableOutgoingBitrate) out.estimate = r.availableOutgoingBitrate;
    if (r.type === 'outbound-rtp' && r.kind === 'video' && r.qualityLimitationDurations) {
      out.bandwidth = Math.max(out.bandwidth, r.qualityLimitationDurations.bandwidth || 0);
      out.cpu = Math.max(out.cpu, r.qualityLimitationDurations.cpu || 0);
    }
  });
  return out;
})()`

// startPublisherSampler samples publisherPressureJS every 500 ms (window.pubSamples).
const startPublisherSampler = `(async () => {
  const first = await (` + publisherPressureJS + `);
  const acc = {first, last: first, estimates: []};
  window.pubSamples = acc;
  window.pubSampler = setInterval(async () => {
    const now = await (` + publisherPressureJS + `);
    if (now.estimate) acc.estimates.push(now.estimate);
    acc.last = now;
  }, 500);
  return true;
})()`

// stopPublisherSampler stops it and returns the lowest and the median estimate (kbit/s)
// and the seconds limited by bandwidth and by CPU over the sampled time.
const stopPublisherSampler = `(() => {
  clearInterval(window.pubSampler);
  const acc = window.pubSamples, e = acc.estimates.slice().sort((a, b) => a - b);
  return {minKbps: e.length ? Math.round(e[0] / 1000) : 0, medianKbps: e.length ? Math.round(e[e.length >> 1] / 1000) : 0,
    bandwidthS: acc.last.bandwidth - acc.first.bandwidth, cpuS: acc.last.cpu - acc.first.cpu};
})()`

// publisherPressure is what stopPublisherSampler returns.
type publisherPressure struct {
	MinKbps    int     `json:"minKbps"`
	MedianKbps int     `json:"medianKbps"`
	BandwidthS float64 `json:"bandwidthS"`
	CPUS       float64 `json:"cpuS"`
}

// videoStability is what the sampler gathered for one remote user.
type videoStability struct {
	FramesDecoded        int      `json:"framesDecoded"`
	FreezeCount          int      `json:"freezeCount"`
	TotalFreezesDuration float64  `json:"totalFreezesDuration"`
	SizeChanges          int      `json:"sizeChanges"`
	Sizes                []string `json:"sizes"`
}

// stopVideoStabilitySampler stops the sampler and returns, per remote user, the figures
// over the sampled time (framesDecoded, freezeCount and totalFreezesDuration as
// differences).
const stopVideoStabilitySampler = `(() => {
  clearInterval(window.videoSampler);
  const acc = window.videoSamples, out = {};
  for (const [u, v] of Object.entries(acc.last)) {
    const s = acc.start[u] || {framesDecoded: 0, freezeCount: 0, totalFreezesDuration: 0};
    out[u] = {framesDecoded: v.framesDecoded - s.framesDecoded, freezeCount: v.freezeCount - s.freezeCount,
      totalFreezesDuration: v.totalFreezesDuration - s.totalFreezesDuration,
      sizeChanges: acc.changes[u] || 0, sizes: acc.sizes[u] || []};
  }
  return out;
})()`

// TestBrowserGroupCallStability: alice video-calls bob and carol; each of the three watches
// the two others for groupWatchTime while the page samples the received video every
// 500 ms. It logs per viewer and sender Chromium's freezeCount and totalFreezesDuration and
// the number of received frame size changes (docs/performance.md, "Simulcast: layer
// stability"). It fails only when a viewer gets no video of another; the figures depend
// on the machine's load and are reported, not asserted.
func TestBrowserGroupCallStability(t *testing.T) {
	srv := startTestServer(t, true)
	bs := signedInBrowsers(t, srv, "alice", "bob", "carol")
	alice, bob, carol := bs[0], bs[1], bs[2]
	placeCall(alice, "bob, carol")
	for _, b := range []*browser{bob, carol} {
		waitFor[bool](b, "the ringing dialog", `document.getElementById('ringing').open`, 20*time.Second)
		b.do(chromedp.Click(chromedp.CSS("#accept")))
	}
	for _, b := range bs {
		waitFor[int](b, "onCallBegin", eventCountJS("onCallBegin", "p.mediaType === 2"), 20*time.Second)
	}
	others := func(b *browser) []string {
		var out []string
		for _, o := range bs {
			if o != b {
				out = append(out, o.name)
			}
		}
		return out
	}
	for _, b := range bs {
		for _, o := range others(b) {
			waitFor[bool](b, o+"'s video decoded", `(async () => ((await `+remoteVideoJS+`)['`+o+`'] || {}).framesDecoded > 0)()`, 45*time.Second)
		}
	}
	for _, b := range bs {
		eval[bool](b, startVideoStabilitySampler)
		eval[bool](b, startPublisherSampler)
	}
	time.Sleep(groupWatchTime) // the call runs; the pages sample it
	for _, b := range bs {
		got := eval[map[string]videoStability](b, stopVideoStabilitySampler)
		pp := eval[publisherPressure](b, stopPublisherSampler)
		t.Logf("%s publishes: %s; over %s: send estimate min %d median %d kbit/s, encoder limited by bandwidth %.1f s, by CPU %.1f s",
			b.name, eval[string](b, publisherLayersJS), groupWatchTime, pp.MinKbps, pp.MedianKbps, pp.BandwidthS, pp.CPUS)
		for _, o := range others(b) {
			v, ok := got[o]
			t.Logf("%s watching %s for %s: framesDecoded %d, freezeCount %d, totalFreezesDuration %.2f s, resolution changes %d %v",
				b.name, o, groupWatchTime, v.FramesDecoded, v.FreezeCount, v.TotalFreezesDuration, v.SizeChanges, v.Sizes)
			if !ok || v.FramesDecoded == 0 {
				b.dumpOutput()
				t.Errorf("%s decoded no video of %s in %s", b.name, o, groupWatchTime)
			}
		}
	}
	checkNoErrors(t, bs...)
	hangUpAll(alice, bob, carol)
}
