//go:build !linux

package main

import (
	"fmt"
	"os"
)

// readHidden reads a line from a terminal. Echo cannot be turned off here
// without more dependencies: say so.
func readHidden(f *os.File) (string, error) {
	fmt.Fprint(os.Stderr, "(input is shown) ")
	return readSecretLine(f)
}
