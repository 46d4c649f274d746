// Package wal is prowl's write-ahead log: the component that makes
// "acknowledged = durable" true.
//
// Sources hand batches of normalized events to the pipeline, which appends
// them with [Log.Append] and acknowledges the source (HTTP 2xx, checkpoint)
// only after Append returns nil. Consumers (the detection engine, the lake
// writer) read the log with a [Reader] from their own committed offsets and
// record progress with [Log.CommitOffset]. After a crash or kill -9 at any
// moment, [Open] recovers the log and every consumer resumes from its
// committed offset: nothing acknowledged is lost and nothing is skipped
// (delivery is at-least-once: records after a consumer's last commit are
// read again). [Log.Truncate] deletes segments no registered consumer needs.
//
// # Guarantees
//
//   - Durability: when Append returns nil, its records have been written and
//     fsynced (file data, and the directory entry of every segment they are
//     in). Appends that overlap in time share one fsync (group commit).
//   - Order: offsets are dense (no gaps) and assigned in the order batches
//     reach the log; a batch's records get consecutive offsets.
//   - Visibility: a Reader returns only records whose fsync has completed,
//     so a reader never sees a record that a crash could take back.
//   - Integrity: every record carries a CRC-32C; readers verify it and
//     report [ErrCorrupt] with the segment file and byte position rather
//     than return damaged bytes.
//   - Crash recovery: Open scans the last segment and cuts a torn tail (a
//     partial record or a checksum mismatch) at the last complete record;
//     [Log.Recovered] reports what was cut. A crash can only tear records
//     whose Append had not returned. Media damage (a flipped byte) in the
//     last segment looks the same and also cuts the records after it,
//     acknowledged or not: Recovered reports the bytes dropped, so the
//     caller can log it loudly.
//   - Consumer offsets are written to a temporary file, fsynced, renamed
//     over the old one and the directory fsynced: after a crash a consumer
//     sees either its previous or its new offset, never a torn one.
//   - Fail-stop: if a write or fsync fails, the Log refuses further appends
//     with the original error (after a failed fsync the kernel may have
//     dropped the dirty pages, so retrying could falsely succeed). Close it
//     and Open it again; recovery re-establishes the durable tail.
//
// # Group commit
//
// Append encodes and checksums its records on the caller's goroutine and
// queues them. A writer goroutine takes everything queued, assigns offsets
// and writes it; a syncer goroutine fsyncs once for everything written so
// far, publishes the new durable end to readers and acknowledges those
// appends. The two stages overlap: while one group is being fsynced the
// next is being written, so under concurrent load each fsync covers several
// batches and the disk is never idle between them.
//
// # On-disk format
//
// A log directory holds segment files, a LOCK file (one process at a time)
// and a consumers/ directory with one <name>.offset file per consumer.
//
// A segment is named by the offset of its first record, as 20 decimal
// digits: 00000000000000000000.wal. It starts with a 20-byte header
//
//	magic "prowlWAL" (8) | version u32 LE (4) | first offset u64 LE (8)
//
// followed by records
//
//	length u32 LE (4) | CRC-32C (Castagnoli) of length bytes + payload (4) | payload
//
// Segments roll when the next record would take the file past
// Options.SegmentBytes (a record larger than that gets a segment of its own).
// A consumer offset file is 16 bytes: magic "pwo1", the offset as u64 LE and
// the CRC-32C of those 12 bytes.
package wal
