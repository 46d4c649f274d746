// Package lake is prowl's security data lake: every normalized event is
// stored in Parquet (zstd), one table per log type, hive-partitioned by day
// and hour, and queried with SQL through DuckDB. It is the only package that
// imports DuckDB.
//
// Storage (writer.go, manifest.go, compact.go, retention.go) and queries
// (query.go, sandbox.go, search.go) meet at the Snapshot: the exact set of
// files a query may read. Files enter and leave the live set atomically, so
// a query never sees a partial flush or a file and its compacted copy.
package lake

import "time"

// File is one Parquet file of a table.
type File struct {
	Table string    // e.g. okta_systemlog
	Path  string    // absolute path
	Day   string    // partition dt=YYYY-MM-DD
	Hour  int       // partition hour=HH
	Rows  int64     // rows in the file
	Bytes int64     // size on disk
	Min   time.Time // smallest p_event_time in the file
	Max   time.Time // largest p_event_time in the file
}

// Snapshot is an immutable view of the lake: the live files of every table.
// Files in a snapshot are not deleted until the snapshot is released.
type Snapshot interface {
	// Tables lists the table names that have at least one file.
	Tables() []string
	// Files returns a table's live files whose [Min, Max] overlaps
	// [from, to) (zero times mean unbounded).
	Files(table string, from, to time.Time) []File
	// Columns returns a table's columns (name and DuckDB type), in order.
	Columns(table string) []Column
	// Release lets compaction and retention delete files this snapshot
	// holds. It must be called exactly once.
	Release()
}

// Column is a column of a lake table.
type Column struct {
	Name string
	Type string // DuckDB type, e.g. VARCHAR, BIGINT, TIMESTAMP, VARCHAR[]
}
