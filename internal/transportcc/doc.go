// Package transportcc finds the transport-wide congestion control header extension
// (draft-holmer-rmcat-transport-wide-cc-extensions-01) a stream negotiated: the lookup
// sfu (its TWCC numbering and feedback interceptors) and client (its feedback sender)
// share, since client may not import sfu. It imports nothing of the module and keeps no
// state.
package transportcc
