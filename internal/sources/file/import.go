// Package file reads events from files: Import for one-off loads (the
// `prowl ingest` command) and Watcher, a source that follows a directory.
//
// Both read NDJSON (one JSON value per line; blank lines and CRLF are fine)
// or a JSON array, either of them optionally gzip-compressed (detected from
// the content, not the name). A record that is not a valid JSON object is
// still passed to the sink, whose normalizer quarantines it with the
// reason: nothing is dropped, and the file's problems are reported with
// their line numbers. A syntax error inside a JSON array ends that file,
// since nothing after it can be told apart; the error says where.
package file

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/prowl-siem/prowl/internal/sources/core"
	"github.com/prowl-siem/prowl/internal/sources/rawjson"
)

// ImportSourceID is the SourceID of batches sent by Import.
const ImportSourceID = "import"

// Batch limits.
const (
	batchRecords = 1000
	batchBytes   = 4 << 20
)

// maxProblems bounds Stats.Problems; Stats.Invalid counts them all.
const maxProblems = 100

// Problem is a record that will be quarantined, and where it is.
type Problem struct {
	File    string
	Line    int64 // 1-based line (NDJSON), 0 for records of a JSON array
	Record  int64 // 1-based record number within the file
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: record %d: %s", p.File, p.Record, p.Message)
}

// Stats summarises an import.
type Stats struct {
	Files    int   // files read to the end
	Records  int64 // records acknowledged by the sink
	Bytes    int64 // their size (decompressed)
	Invalid  int64 // acknowledged records that are not JSON objects (quarantined downstream)
	Problems []Problem
}

// Import reads the files (or standard input for "-") and sends their
// records to sink as batches of logType. progress, if not nil, is called
// with bytes read so far and the total size of the files (0 when unknown,
// as for standard input).
//
// Import stops at the first error: an unreadable file, a broken JSON array,
// or a sink error. Records acknowledged before it are counted in Stats, and
// the error names the file and line it stopped at.
func Import(ctx context.Context, paths []string, logType string, sink core.Sink, progress func(done, total int64)) (Stats, error) {
	var st Stats
	var total int64
	for _, p := range paths {
		if p == "-" {
			total = 0
			break
		}
		fi, err := os.Stat(p)
		if err != nil {
			return st, err
		}
		if fi.IsDir() {
			return st, fmt.Errorf("%s is a directory", p)
		}
		total += fi.Size()
	}
	var doneBase int64
	report := func(n int64) {
		if progress != nil {
			progress(doneBase+n, total)
		}
	}
	for _, p := range paths {
		n, err := importOne(ctx, p, logType, sink, &st, report)
		doneBase += n
		if err != nil {
			return st, err
		}
		st.Files++
	}
	report(0)
	return st, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func importOne(ctx context.Context, path, logType string, sink core.Sink, st *Stats, report func(int64)) (int64, error) {
	name := path
	var in io.Reader
	if path == "-" {
		name, in = "stdin", os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		in = f
	}
	cr := &countingReader{r: in}
	r, _, err := maybeGzip(bufio.NewReaderSize(cr, 256<<10))
	if err != nil {
		return cr.n, fmt.Errorf("%s: %w", name, err)
	}
	sc, err := newScanner(r, 0, 0)
	if err != nil {
		return cr.n, fmt.Errorf("%s: %w", name, err)
	}

	b := batcher{sink: sink, batch: core.Batch{SourceID: ImportSourceID, SourceLabel: name, LogType: logType}}
	var recNo, lastLine int64
	for {
		rec, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ferr := b.flush(ctx, st); ferr != nil {
				return cr.n, fmt.Errorf("%s: %w", name, ferr)
			}
			var se *rawjson.SyntaxError
			if errors.As(err, &se) {
				return cr.n, fmt.Errorf("%s:%d:%d: %s; the %d records before it were imported, the rest of the file was not",
					name, se.Line, se.Column, se.Msg, recNo)
			}
			return cr.n, fmt.Errorf("%s: %w (after record %d)", name, err, recNo)
		}
		sc.takePartial(rec) // the file is complete: a last line without '\n' counts
		recNo++
		lastLine = rec.line
		if msg := problem(rec); msg != "" {
			st.Invalid++
			if len(st.Problems) < maxProblems {
				st.Problems = append(st.Problems, Problem{File: name, Line: rec.line, Record: recNo, Message: msg})
			}
		}
		if b.add(rec.data) {
			if err := b.flush(ctx, st); err != nil {
				return cr.n, fmt.Errorf("%s: stopped at line %d, record %d: %w", name, lastLine, recNo, err)
			}
			report(cr.n)
		}
	}
	if err := b.flush(ctx, st); err != nil {
		return cr.n, fmt.Errorf("%s: stopped at the last batch (record %d): %w", name, recNo, err)
	}
	report(cr.n)
	return cr.n, nil
}

// batcher accumulates records up to the batch limits.
type batcher struct {
	sink  core.Sink
	batch core.Batch
	size  int
}

// add appends a record and reports whether the batch is full.
func (b *batcher) add(rec []byte) bool {
	b.batch.Records = append(b.batch.Records, rec)
	b.size += len(rec)
	return len(b.batch.Records) >= batchRecords || b.size >= batchBytes
}

// flush sends the batch; on success it counts it into st.
func (b *batcher) flush(ctx context.Context, st *Stats) error {
	if len(b.batch.Records) == 0 {
		return nil
	}
	if err := b.sink.Ingest(ctx, b.batch); err != nil {
		return err
	}
	st.Records += int64(len(b.batch.Records))
	st.Bytes += int64(b.size)
	b.batch.Records, b.size = b.batch.Records[:0], 0
	return nil
}
