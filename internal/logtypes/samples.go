package logtypes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ReadSamples splits a file of sample events and calls fn with each event
// and the line it starts on. Three layouts are understood:
//
//   - a JSON array of events (the file starts with '[');
//   - a stream of JSON values of which at least one spans several lines
//     (pretty-printed events, one after the other);
//   - otherwise NDJSON: one event a line, blank lines skipped. Lines are
//     passed on even when they are not valid JSON, so that the caller can
//     report them.
//
// An error from fn stops the reading and is returned.
func ReadSamples(data []byte, fn func(line int, raw []byte) error) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return readArray(data, fn)
	}
	if multiLineStream(data) {
		return readStream(data, fn)
	}
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		l = bytes.TrimRight(l, "\r")
		if line == 1 {
			l = bytes.TrimPrefix(l, []byte("\ufeff"))
		}
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		if err := fn(line, l); err != nil {
			return err
		}
	}
	return nil
}

// multiLineStream reports whether data is a valid stream of JSON values
// with at least one value spanning lines.
func multiLineStream(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	multi := false
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return multi && errors.Is(err, io.EOF)
		}
		if bytes.IndexByte(raw, '\n') >= 0 {
			multi = true
		}
	}
}

func lineAt(data []byte, off int) int {
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}

func readStream(data []byte, fn func(line int, raw []byte) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		if err := fn(lineAt(data, start), data[start:end]); err != nil {
			return err
		}
	}
	return nil
}

func readArray(data []byte, fn func(line int, raw []byte) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			// Name the line where the broken element starts.
			off := min(int(dec.InputOffset()), len(data))
			for off < len(data) && bytes.IndexByte([]byte(" \t\r\n,"), data[off]) >= 0 {
				off++
			}
			return fmt.Errorf("line %d: %v", lineAt(data, min(off, len(data))), err)
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		if err := fn(lineAt(data, start), data[start:end]); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("line %d: %v", lineAt(data, min(int(dec.InputOffset()), len(data))), err)
	}
	return nil
}
