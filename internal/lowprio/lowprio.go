// Package lowprio runs background work (lake compaction, scheduled
// queries, correlation runs) on operating-system threads of low
// scheduling priority, so that it takes the CPU the real-time path leaves
// over instead of competing with it: a merge or a correlation run that
// keeps a core busy for seconds would otherwise make the engine fall
// behind for as long.
package lowprio

import "runtime"

// Nice is the nice value of the threads Run uses (Linux; 0 is the
// default, 19 the lowest priority). A nice-10 thread gets about a tenth of
// the CPU of a default one when both want it, and all the CPU nobody else
// wants.
const Nice = 10

// Run calls f on a goroutine locked to a new OS thread whose priority is
// lowered to Nice, and returns f's error once it returns. DuckDB runs a
// statement on the thread that calls it (with one thread configured), so
// its work is lowered too; goroutines f starts are not. Where the
// priority cannot be lowered (other systems, or a process already below
// it) f runs at the usual priority. The thread ends with f, since an
// unprivileged process cannot raise a thread's priority again (if Go had
// put the goroutine on the process's main thread, which cannot end, the
// runtime parks that thread for good instead).
func Run(f func() error) error {
	done := make(chan error, 1)
	go func() {
		// Never unlocked, so the thread exits when the goroutine does.
		runtime.LockOSThread()
		lower()
		done <- f()
	}()
	return <-done
}
