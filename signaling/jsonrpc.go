package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// HandlerFunc handles one method for a session of type S with decoded, validated params P
// and returns the result R (sent as the response's result).
type HandlerFunc[S, P, R any] func(ctx context.Context, s S, params P) (R, error)

// GuardFunc runs before every handler of a Dispatcher; a non-nil error is the response
// (e.g. the login gate of D3 returns protocol.CodeNotLoggedIn for any method but login).
type GuardFunc[S any] func(ctx context.Context, s S, method string) error

type rawHandler[S any] func(ctx context.Context, s S, params json.RawMessage) (any, error)

// Dispatcher routes requests to typed handlers by method name. Register every method
// before the first Dispatch; afterwards the Dispatcher is read-only and safe for
// concurrent use by all connections.
type Dispatcher[S any] struct {
	handlers map[string]rawHandler[S]
	guard    GuardFunc[S]
}

// NewDispatcher returns an empty dispatcher.
func NewDispatcher[S any]() *Dispatcher[S] {
	return &Dispatcher[S]{handlers: make(map[string]rawHandler[S])}
}

// Register adds the handler of method. Params are decoded with DecodeParams (strict types,
// -32602 naming the field, Validate() run). Registering a method twice panics: it is a
// programming error.
func Register[S, P, R any](d *Dispatcher[S], method string, fn HandlerFunc[S, P, R]) {
	if _, dup := d.handlers[method]; dup {
		panic(fmt.Sprintf("signaling: method %q registered twice", method))
	}
	d.handlers[method] = func(ctx context.Context, s S, raw json.RawMessage) (any, error) {
		params, err := DecodeParams[P](raw)
		if err != nil {
			return nil, err
		}
		return fn(ctx, s, params)
	}
}

// SetGuard installs the check run before every handler (nil removes it).
func (d *Dispatcher[S]) SetGuard(g GuardFunc[S]) { d.guard = g }

// Methods lists the registered methods, sorted.
func (d *Dispatcher[S]) Methods() []string {
	out := make([]string, 0, len(d.handlers))
	for m := range d.handlers {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Dispatch runs the handler of req.Method for session s. An unknown method is -32601;
// errors are returned as the handler produced them (the Conn turns them into error
// responses with ResponseError).
func (d *Dispatcher[S]) Dispatch(ctx context.Context, s S, req protocol.Request) (any, error) {
	h, ok := d.handlers[req.Method]
	if !ok {
		return nil, protocol.Errorf(protocol.CodeMethodNotFound, "method not found: %.64q", req.Method)
	}
	if d.guard != nil {
		if err := d.guard(ctx, s, req.Method); err != nil {
			return nil, err
		}
	}
	return h(ctx, s, req.Params)
}

// ResponseError is the wire error for a handler error: a *protocol.Error anywhere in the
// chain is sent as is (its code and message); anything else is -32603 with a generic
// message, and internal reports true so the caller logs the detail.
func ResponseError(err error) (wire *protocol.Error, internal bool) {
	var perr *protocol.Error
	if errors.As(err, &perr) {
		return perr, false
	}
	return protocol.NewError(protocol.CodeInternalError, ""), true
}
