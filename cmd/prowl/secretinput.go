package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Secrets are never taken as plain flag values: those end up in shell
// history and in the process list. They come from a file, an environment
// variable or standard input (a hidden prompt on a terminal).

// secretSpec reads a secret named by a flag value: "@PATH" (a file),
// "@-" (standard input) or "env:VAR".
func readSecretSpec(spec string, stdin io.Reader) (string, error) {
	switch {
	case spec == "@-":
		return readSecretLine(stdin)
	case strings.HasPrefix(spec, "@"):
		return readSecretFile(spec[1:])
	case strings.HasPrefix(spec, "env:"):
		return readSecretEnv(spec[4:])
	}
	return "", errors.New("a secret is given as @FILE, @- (standard input) or env:VARIABLE, never as a plain value: that would leave it in your shell history")
}

func readSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	v := strings.TrimRight(string(data), "\r\n")
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

func readSecretEnv(name string) (string, error) {
	v, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("environment variable %s is not set or empty", name)
	}
	return v, nil
}

// readSecretLine reads one line from r without reading past it.
func readSecretLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			b.WriteByte(buf[0])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	v := strings.TrimRight(b.String(), "\r")
	if strings.TrimSpace(v) == "" {
		return "", errors.New("no secret on standard input")
	}
	return v, nil
}

// promptSecret asks for a secret on standard input: with a prompt and
// echo off on a terminal, else it reads the first line (for pipes:
// `pass show okta | prowl sources add okta ...`).
func promptSecret(prompt string, stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(stderr, prompt)
		v, err := readHidden(f)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(v) == "" {
			return "", errors.New("no secret entered")
		}
		return v, nil
	}
	return readSecretLine(stdin)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
