//go:build linux

package main

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// readHidden reads a line from a terminal with echo off, restoring the
// terminal afterwards (also on Ctrl-C).
func readHidden(f *os.File) (string, error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return readSecretLine(f)
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return readSecretLine(f)
	}
	restore := func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }
	defer restore()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer func() {
		signal.Stop(sigs)
		close(sigs)
	}()
	go func() {
		if _, ok := <-sigs; ok {
			restore()
			os.Exit(130)
		}
	}()
	return readSecretLine(f)
}
