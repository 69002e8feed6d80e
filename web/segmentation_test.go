package web

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// selfieSegmentationDirEnv names an unpacked @mediapipe/selfie_segmentation npm package
// (`npm pack @mediapipe/selfie_segmentation && tar xzf *.tgz`: its package/ directory) for
// TestBrowserSelfieSegmentationCost; without it the test is skipped.
const selfieSegmentationDirEnv = "PARLEY_SELFIE_SEGMENTATION_DIR"

// segmentationPage segments a drawn 640×360 figure with the package's model (model 1,
// landscape) once, then 20 times, and resolves window.done with the mask and the times.
const segmentationPage = `<!doctype html><html><body><canvas id="c" width="640" height="360"></canvas>
<script src="/mp/selfie_segmentation.js"></script>
<script>
window.done = (async () => {
  try {
    const c = document.getElementById('c'), ctx = c.getContext('2d');
    ctx.fillStyle = '#4a8'; ctx.fillRect(0, 0, 640, 360);
    ctx.fillStyle = '#eac'; ctx.beginPath(); ctx.arc(320, 140, 70, 0, 7); ctx.fill(); ctx.fillRect(220, 220, 200, 140);
    const seg = new SelfieSegmentation({ locateFile: (f) => '/mp/' + f });
    seg.setOptions({ modelSelection: 1 });
    let mask = '';
    seg.onResults((r) => {
      const k = document.createElement('canvas'); k.width = 64; k.height = 36;
      const x = k.getContext('2d'); x.drawImage(r.segmentationMask, 0, 0, 64, 36);
      const d = x.getImageData(0, 0, 64, 36).data;
      mask = 'mask ' + r.segmentationMask.width + 'x' + r.segmentationMask.height + ', alpha at the figure ' + d[(18 * 64 + 32) * 4 + 3] + ', at a corner ' + d[3];
    });
    let t = performance.now();
    await seg.initialize();
    await seg.send({ image: c });
    const first = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < 20; i++) await seg.send({ image: c });
    return mask + '; first frame ' + first.toFixed(0) + ' ms, then ' + ((performance.now() - t) / 20).toFixed(0) + ' ms per frame';
  } catch (e) { return 'error ' + e; }
})();
</script></body></html>`

// TestBrowserSelfieSegmentationCost measures what background blur would cost in the test
// browser (D41): headless Chromium without a GPU runs MediaPipe's selfie segmentation
// (WebGL on SwiftShader) on a 640×360 frame; it logs the first frame's and the next 20
// frames' time and fails if no mask comes.
func TestBrowserSelfieSegmentationCost(t *testing.T) {
	dir := os.Getenv(selfieSegmentationDirEnv)
	if dir == "" {
		t.Skipf("%s is not set (an unpacked @mediapipe/selfie_segmentation package)", selfieSegmentationDirEnv)
	}
	mux := http.NewServeMux()
	mux.Handle("/mp/", http.StripPrefix("/mp/", http.FileServerFS(os.DirFS(dir))))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(segmentationPage))
	})
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	b := newBrowsers(t, "segmenter")[0]
	b.do(chromedp.Navigate(site.URL + "/"))
	// The page's main thread is busy for long stretches (WebAssembly compile, inference), so
	// one evaluation awaits the whole run.
	got := evalWithin[string](b, `window.done`, 10*time.Minute)
	if len(got) < 5 || got[:5] != "mask " {
		b.dumpOutput()
		t.Fatalf("segmentation: %s", got)
	}
	t.Logf("selfie segmentation in headless Chromium: %s", got)
}
