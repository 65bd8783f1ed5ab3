// Package pipeline is a small example of the producer/consumer code unleak rewrites.
package pipeline

import (
	"bufio"
	"io"
	"strings"
)

// Lines streams the lines of r. Nothing closes the channel, so a caller that
// ranges over it hangs (and leaks its goroutine) after the last line.
func Lines(r io.Reader) <-chan string {
	lines := make(chan string)
	go func() {
		scanner := bufio.NewScanner(r)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
	}()
	return lines
}

// Upper turns every line it receives into upper case.
func Upper(in <-chan string) <-chan string {
	out := make(chan string)
	go func(dst chan<- string) {
		for line := range in {
			dst <- strings.ToUpper(line)
		}
	}(out)
	return out
}

// Count reads every line of r; with the unclosed producer above it never returns.
func Count(r io.Reader) int {
	n := 0
	for range Upper(Lines(r)) {
		n++
	}
	return n
}

// Done shows the safe form: the producer closes what it owns, so unleak leaves it alone.
func Done(words []string) <-chan string {
	out := make(chan string, len(words))
	go func() {
		defer close(out)
		for _, w := range words {
			out <- w
		}
	}()
	return out
}
