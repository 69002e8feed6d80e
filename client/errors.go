package client

import "errors"

var (
	// ErrInvalidConfig is wrapped by configuration errors.
	ErrInvalidConfig = errors.New("invalid client configuration")
	// ErrClosed is returned by operations on a closed Publisher or Subscriber.
	ErrClosed = errors.New("client closed")
	// ErrBadPayload is wrapped by errors about a packet that is not in the synthetic format.
	ErrBadPayload = errors.New("bad synthetic payload")
)
