package pipeline

import (
	"context"
	"fmt"

	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/wal"
)

// Scan reads the events of the batch records in log from offset from up to
// the end of the log as it is when Scan starts, and passes each to fn in
// log order. It stops at the first error fn returns (and returns it). It
// does not wait for records appended later; use it offline (checks, tests,
// tools), or on a live log for a snapshot.
func Scan(ctx context.Context, log *wal.Log, from wal.Offset, fn func(logtypes.Event) error) error {
	end := log.Next()
	if from >= end {
		return nil
	}
	r, err := log.Reader(from)
	if err != nil {
		return err
	}
	defer r.Close()
	for off := from; off < end; off++ {
		data, got, err := r.NextOwned(ctx)
		if err != nil {
			return fmt.Errorf("reading the log at %d: %w", off, err)
		}
		rec, err := decodeOwnedRecord(data)
		if err != nil {
			return fmt.Errorf("log record %d: %w", got, err)
		}
		for _, ev := range rec.Events {
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
	return nil
}
