package client

import "errors"

var (
	// ErrInvalidConfig is wrapped by configuration errors.
	ErrInvalidConfig = errors.New("invalid client configuration")
	// ErrClosed is returned by operations on a closed Publisher or Subscriber.
	ErrClosed = errors.New("client closed")
	// ErrBadPayload is wrapped by errors about a packet that is not in the synthetic format.
	ErrBadPayload = errors.New("bad synthetic payload")
	// ErrMediaFile is wrapped by errors about a media file (LoadIVF, LoadOgg) that cannot
	// be read or is not VP8 IVF / Opus Ogg; the message names the file.
	ErrMediaFile = errors.New("unusable media file")
)
