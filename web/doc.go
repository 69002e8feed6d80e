// Package web serves Parley's browser side: the SDK (sdk/parley.js and the modules it
// imports, with its package.json and TypeScript declarations parley.d.ts, at /sdk/, with
// CORS headers for Options.AllowedOrigins) and the demo page (demo/, at /), both embedded
// in the binary, plus
// the development-only endpoints POST /dev/usersig (a userSig) and POST /dev/roomgrant (a
// room grant for joinRoom), which exist only when Options.DevMode is set (auth.dev_mode).
//
// The package holds no mutable state and starts no goroutines: Handler builds an
// immutable http.Handler that is safe for concurrent use by the HTTP server's goroutines.
// It does not import package signaling: the server passes the minting functions in
// Options (signaling.Verifier.Mint, MintRoomGrant).
//
// Files: web.go (Handler, Options, the embedded files), usersig.go (the userSig dev
// endpoint, its request parser, the shared dev endpoint skeleton), roomgrant.go (the room
// grant dev endpoint and its request parser). The browser tests (browser_test.go and the
// others that use harness_test.go) drive headless Chromium against a full in-process
// server inside a private network namespace; firstframe_test.go measures accept → first
// decoded remote frame with the SDK's early media on and off and with its ringing preview,
// preview_test.go checks that preview's privacy (nothing sent while ringing, the camera
// closed when the call ends unanswered). examples/other-origin (not
// embedded) is an app page on its own origin that imports the SDK: otherorigin_test.go,
// devices_test.go, callparams_test.go, callend_test.go and effects_test.go (background blur with MediaPipe's
// model) call through it, tsc_test.go type-checks it and the declarations, and cors_test.go
// checks the /sdk/ CORS headers; segmentation_test.go measures the model's cost.
// examples/call-kit is an app page on its own origin that drops <parley-call-kit> in
// (TestKitOtherOrigin in otherorigin_test.go).
// whip_test.go plays WHIP and WHEP (the test server mounts signaling.WHIP at /whip/ and
// /whep/) between pion clients and Chromium, and through examples/whep-player (not
// embedded), a WHEP player page with no Parley code.
//
// The call kit (kit/, at /kit/, with the same CORS headers as /sdk/) is the
// <parley-call-kit> and <parley-call-history> web components; the demo page at / is built
// on it, and demo/lab/ (at /lab/) is the page of the SDK alone that the engine's browser
// tests drive (labPath). kit_test.go drives the kit on the demo page; kitqa_test.go and
// sdkqa_test.go play an app developer's scenarios through it (media type switches, a
// blocked camera, reloads, network outages, second tabs, joins, error codes).
package web
