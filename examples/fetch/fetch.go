// Package fetch is a small example of request code that leaks under timeouts.
package fetch

import (
	"context"
	"errors"
	"time"
)

// ErrTimeout is returned when the backend is slower than the caller's patience.
var ErrTimeout = errors.New("fetch: timed out")

// Get asks the backend in the background and gives up after d. When it gives up, the
// goroutine still holding the answer blocks forever on its send: nobody receives any more.
func Get(backend func() string, d time.Duration) (string, error) {
	answer := make(chan string)
	go func() {
		answer <- backend()
	}()
	select {
	case a := <-answer:
		return a, nil
	case <-time.After(d):
		return "", ErrTimeout
	}
}

// WithDeadline runs work under a deadline but drops the cancel function, so the context's
// timer and its resources live until the deadline passes even when work returns at once.
func WithDeadline(parent context.Context, d time.Duration, work func(context.Context) error) error {
	ctx, _ := context.WithTimeout(parent, d)
	return work(ctx)
}
