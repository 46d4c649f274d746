// Package dirlock takes the LOCK file of a data directory (the lake, the
// write-ahead log), so that two writers never share one.
package dirlock

// FileName is the lock file inside a locked directory.
const FileName = "LOCK"
