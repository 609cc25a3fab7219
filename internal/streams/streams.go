// Package streams drains gRPC server streams.
package streams

import (
	"errors"
	"io"
)

// Receiver is a server stream's receiving side.
type Receiver[T any] interface {
	Recv() (T, error)
}

// Each calls fn with every message of the stream until it ends (nil) or
// fails (the error).
func Each[T any](stream Receiver[T], fn func(T)) error {
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		fn(msg)
	}
}
