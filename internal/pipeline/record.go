package pipeline

import "github.com/prowl-siem/prowl/internal/batchrec"

// The write-ahead log holds one batch record per acknowledged source batch;
// the format lives in internal/batchrec so that other log consumers (the
// lake writer) can read it without importing the pipeline.

type batchRecord = batchrec.Record

func encodeRecord(dst []byte, r *batchRecord) []byte { return batchrec.Encode(dst, r) }

// decodeOwnedRecord decodes a record the caller hands over, from
// wal.Reader.NextOwned: the events alias it (see batchrec.DecodeOwned).
func decodeOwnedRecord(data []byte) (*batchRecord, error) { return batchrec.DecodeOwned(data) }
