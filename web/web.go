package web

import (
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed sdk demo kit
var files embed.FS

// ErrNoMinter: Options.DevMode is set but Options.MintUserSig or MintRoomGrant is nil.
var ErrNoMinter = errors.New("web: dev mode needs MintUserSig and MintRoomGrant functions")

// MintFunc makes a userSig for userID in app sdkAppID valid from now for ttl
// (signaling.Verifier.Mint has this signature).
type MintFunc func(sdkAppID int, userID string, ttl time.Duration, now time.Time) (string, error)

// DefaultDevUserSigTTL is how long a development userSig or room grant stays valid.
const DefaultDevUserSigTTL = 24 * time.Hour

// Options configure Handler.
type Options struct {
	// DevMode mounts POST /dev/usersig and POST /dev/roomgrant, which hand anyone a
	// userSig for any userId and a room grant for any room. Only for local development
	// (auth.dev_mode); without it the paths do not exist (404).
	DevMode bool
	// DevSDKAppID is the app the development userSigs and room grants are for.
	DevSDKAppID int
	// MintUserSig signs development userSigs; required with DevMode.
	MintUserSig MintFunc
	// MintRoomGrant signs development room grants; required with DevMode.
	MintRoomGrant RoomGrantFunc
	// DevUserSigTTL is the lifetime of development userSigs and room grants (0 →
	// DefaultDevUserSigTTL).
	DevUserSigTTL time.Duration
	// AllowedOrigins are the browser origins (scheme://host[:port], or "*" for any) whose
	// pages may import the SDK from /sdk/: its responses to them carry
	// Access-Control-Allow-Origin. The server passes signaling.allowed_origins, the origins
	// that may open a signaling socket, so an app page that may call may also load the SDK.
	AllowedOrigins []string
	// Now is the clock (nil → time.Now).
	Now func() time.Time
	// Logger receives request errors (nil → discarded).
	Logger *slog.Logger
}

// Validate reports a dev mode without a minting function.
func (o Options) Validate() error {
	if o.DevMode && (o.MintUserSig == nil || o.MintRoomGrant == nil) {
		return ErrNoMinter
	}
	return nil
}

// Handler serves the demo page at /, the SDK at /sdk/, the call kit at /kit/ and, in dev
// mode, POST /dev/usersig and POST /dev/roomgrant.
// Mount it at "/" next to the server's other routes (GET /ws, GET /healthz). Options that
// fail Validate leave the dev endpoint out and log why.
func Handler(opts Options) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	sdk := mustSub("sdk")
	demo := mustSub("demo")
	mux.Handle("/sdk/", onlyGet(withCORS(opts.AllowedOrigins, http.StripPrefix("/sdk/", http.FileServerFS(sdk)))))
	mux.Handle("/", onlyGet(http.FileServerFS(demo)))
	mux.Handle("/dev/", http.NotFoundHandler())
	mux.Handle("/kit/", onlyGet(withCORS(opts.AllowedOrigins, http.StripPrefix("/kit/", http.FileServerFS(mustSub("kit"))))))
	switch err := opts.Validate(); {
	case err != nil:
		logger.Error("development userSig and room grant endpoints disabled", "error", err)
	case opts.DevMode:
		mux.Handle("POST /dev/usersig", newDevUserSigHandler(opts, logger))
		mux.Handle("POST /dev/roomgrant", newDevRoomGrantHandler(opts, logger))
		for _, path := range []string{"/dev/usersig", "/dev/roomgrant"} {
			mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Allow", http.MethodPost)
				http.Error(w, "use POST", http.StatusMethodNotAllowed)
			})
		}
	}
	return withHeaders(validPath(mux))
}

// validPath answers 400 to a URL path that is not UTF-8 (GET /%ff): the file servers
// would find no valid file name in it and answer 500.
func validPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !utf8.ValidString(r.URL.Path) {
			http.Error(w, "bad request: the URL path is not valid UTF-8", http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// onlyGet answers other methods than GET and HEAD with 405. (Method patterns such as
// "GET /" would make the mux answer 405 to POST /dev/usersig when dev mode is off; that
// path must not exist then.)
func onlyGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withCORS lets pages of the allowed origins read the responses of next (the SDK's
// modules: a module script of another origin is fetched in CORS mode and runs only with
// Access-Control-Allow-Origin). An allowed Origin is echoed; another origin, or a request
// without Origin, gets no CORS header. Vary: Origin tells caches that the answer depends on
// it. The SDK is fetched with plain GETs, so there is no preflight (OPTIONS is a 405).
func withCORS(allowed []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		if origin := r.Header.Get("Origin"); origin != "" && originAllowed(allowed, origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed reports whether origin is in allowed (as signaling.allowed_origins
// compares: case-insensitive, a trailing slash of the configured origin ignored, "*" any).
func originAllowed(allowed []string, origin string) bool {
	for _, a := range allowed {
		if a == "*" || strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	return false
}

// mustSub is a subtree of the embedded files; the directories are compiled in, so a
// failure is a build defect.
func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic("web: embedded directory " + dir + ": " + err.Error())
	}
	return sub
}

// contentSecurityPolicy lets the page load only its own scripts and styles, talk to its
// own origin (HTTP and WebSocket) and show media streams.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"connect-src 'self' ws: wss:; img-src 'self' data: https:; media-src 'self' blob: mediastream:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// withHeaders adds the security and caching headers of every response: the files are
// embedded without modification times, so browsers revalidate them each time.
func withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}
