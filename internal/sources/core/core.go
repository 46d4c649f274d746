// Package core holds the contracts between log sources and the rest of
// prowl: the Source, Sink and State interfaces, the Batch they exchange, the
// self-describing Spec of each source type, and a Clock for tests.
//
// It is a leaf package so that every source implementation
// (internal/sources/okta, httpsrc, file) can import it while the registry in
// internal/sources imports them all. Most code should use the aliases in
// internal/sources instead of importing core directly.
package core

import (
	"context"
	"time"
)

// Batch is a group of raw events from one source, in arrival order.
//
// Records are raw event bytes, normally one JSON object each; a source does
// not judge them further (a record that is not valid JSON is still sent, and
// the sink's normalizer quarantines it with its reason). The sink must not
// keep references to Records after Ingest returns: sources may reuse the
// buffers.
type Batch struct {
	SourceID    string
	SourceLabel string
	LogType     string // the log type to parse the records as; "" asks the sink to classify them
	Records     [][]byte
	// Checkpoint, when set, is the source's checkpoint once this batch is
	// acknowledged. The sink stores it atomically with the records, so a
	// crash can never keep the records and lose the checkpoint (which would
	// fetch them again) or the reverse.
	Checkpoint []byte
}

// Bytes is the total size of the batch's records.
func (b Batch) Bytes() int64 {
	var n int64
	for _, r := range b.Records {
		n += int64(len(r))
	}
	return n
}

// Sink receives batches from sources. Ingest returns nil only once every
// record of the batch is durable downstream (normalized and written ahead,
// or quarantined). An error means nothing of the batch was acknowledged: the
// source keeps its checkpoint and offers the batch again later (or, for push
// sources, tells its client to resend). Ingest may be called concurrently by
// different sources.
type Sink interface {
	Ingest(ctx context.Context, batch Batch) error
}

// State is where sources keep their checkpoints and report their health.
// *store.Store implements it.
type State interface {
	// GetCheckpoint returns the source's opaque checkpoint, nil if none.
	GetCheckpoint(ctx context.Context, sourceID string) ([]byte, error)
	// PutCheckpoint durably replaces it. Sources call it only after the
	// sink acknowledged everything the checkpoint covers.
	PutCheckpoint(ctx context.Context, sourceID string, v []byte) error
	// AddHealth adds to the source's counters and marks it alive now.
	// lastEvent is the newest event time in the batch, zero if unknown.
	AddHealth(ctx context.Context, sourceID string, events, bytes, quarantined int64, lastEvent time.Time) error
	// SetSourceError records the source's latest problem ("" clears it).
	// The message must never contain a secret.
	SetSourceError(ctx context.Context, sourceID, msg string) error
}

// Source is a configured, runnable log source.
type Source interface {
	// ID is the source's id (store.SourceRecord.ID).
	ID() string
	// Run delivers events to sink until ctx is done, then returns
	// ctx.Err(). It returns earlier only for errors that retrying cannot
	// fix. Transient failures (network, rate limits, sink errors) are
	// retried with backoff and reported through state.SetSourceError.
	Run(ctx context.Context, sink Sink, state State) error
}

// Clock is time as a source sees it; tests substitute a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, returning ctx.Err() then.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
