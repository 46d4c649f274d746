package wal

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

const (
	benchRecordBytes = 1024
	benchBatch       = 100
)

func benchRecords(batch int) [][]byte {
	recs := make([][]byte, batch)
	for i := range recs {
		recs[i] = make([]byte, benchRecordBytes)
		for j := range recs[i] {
			recs[i][j] = byte('a' + (i+j)%26)
		}
	}
	return recs
}

// BenchmarkAppend measures acknowledged-append throughput of 1 KB records
// (MB/s counts payload bytes), next to a baseline that writes the same
// payload bytes to a plain file with one Write and one fsync per batch.
// batch=100 is the pipeline's shape; batch=1 (one event per request, many
// concurrent HTTP senders) is where group commit matters most. "serial" is
// one appender; "parallel" is 8 goroutines sharing one log (the baseline
// serialises them on a mutex, as any fsync-per-batch log must).
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{benchBatch, 1} {
		recs := benchRecords(batch)
		var flat []byte
		for _, r := range recs {
			flat = append(flat, r...)
		}
		prefix := fmt.Sprintf("batch=%d/", batch)
		b.Run(prefix+"serial/wal", benchWAL(recs, Options{SyncInterval: DefaultSyncInterval}, false))
		b.Run(prefix+"serial/baseline-file-fsync", benchFile(flat, false))
		b.Run(prefix+"parallel/wal", benchWAL(recs, Options{SyncInterval: DefaultSyncInterval}, true))
		b.Run(prefix+"parallel/wal-interval0", benchWAL(recs, Options{}, true))
		b.Run(prefix+"parallel/baseline-file-fsync", benchFile(flat, true))
		b.Run(prefix+"serial/wal-nosync", benchWAL(recs, Options{NoSync: true}, false))
	}
}

// benchLoop runs op b.N times, from one goroutine or from 8 (4×GOMAXPROCS
// on the project machine).
func benchLoop(b *testing.B, parallel bool, op func() error) {
	if parallel {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		return
	}
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchWAL(recs [][]byte, opts Options, parallel bool) func(b *testing.B) {
	return func(b *testing.B) {
		opts.Dir = b.TempDir()
		l, err := Open(opts)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		b.SetBytes(int64(len(recs) * benchRecordBytes))
		b.ReportAllocs()
		b.ResetTimer()
		benchLoop(b, parallel, func() error {
			_, err := l.Append(context.Background(), recs)
			return err
		})
		b.StopTimer()
		if st := l.Stats(); st.Syncs > 0 {
			b.ReportMetric(float64(st.Appends)/float64(st.Syncs), "batches/fsync")
		}
	}
}

func benchFile(flat []byte, parallel bool) func(b *testing.B) {
	return func(b *testing.B) {
		f, err := os.OpenFile(filepath.Join(b.TempDir(), "plain"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var mu sync.Mutex
		b.SetBytes(int64(len(flat)))
		b.ReportAllocs()
		b.ResetTimer()
		benchLoop(b, parallel, func() error {
			mu.Lock()
			defer mu.Unlock()
			if _, err := f.Write(flat); err != nil {
				return err
			}
			return f.Sync()
		})
		b.ReportMetric(1, "batches/fsync")
	}
}

// BenchmarkReader measures a full scan of a 100 MB log of 1 KB records
// (CRC-checked, in the page cache) per iteration, next to a baseline that
// reads the same segment files in chunks of the reader's buffer size with
// no parsing or checks. MB/s counts payload bytes on both sides.
func BenchmarkReader(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	l, err := Open(Options{Dir: dir, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	recs := benchRecords(benchBatch)
	for i := 0; i < n; i += benchBatch {
		if _, err := l.Append(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("wal", func(b *testing.B) {
		b.SetBytes(n * benchRecordBytes)
		b.ReportAllocs()
		for b.Loop() {
			r, err := l.Reader(0)
			if err != nil {
				b.Fatal(err)
			}
			for range n {
				if rec, _, err := r.Next(context.Background()); err != nil || len(rec) != benchRecordBytes {
					b.Fatal(len(rec), err)
				}
			}
			r.Close()
		}
	})
	b.Run("baseline-file-read", func(b *testing.B) {
		files, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
		if err != nil || len(files) == 0 {
			b.Fatal(files, err)
		}
		buf := make([]byte, readBufBytes)
		b.SetBytes(n * benchRecordBytes)
		b.ReportAllocs()
		for b.Loop() {
			for _, name := range files {
				f, err := os.Open(name)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := f.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				f.Close()
			}
		}
	})
}
