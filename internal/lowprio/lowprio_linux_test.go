package lowprio

import (
	"errors"
	"runtime"
	"syscall"
	"testing"
)

// niceness is the calling thread's nice value (the raw system call that
// syscall.Getpriority makes returns 20 minus it).
func niceness() (int, error) {
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	return 20 - p, err
}

// Work passed to Run runs at nice Nice and its error comes back; the
// caller's thread keeps its priority.
func TestRunLowersThePriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := niceness()
	if err != nil {
		t.Fatal(err)
	}
	var inside int
	var insideErr error
	done := errors.New("done")
	if err := Run(func() error {
		inside, insideErr = niceness()
		return done
	}); err != done {
		t.Fatalf("Run returned %v, want f's error", err)
	}
	if insideErr != nil || inside != max(Nice, before) {
		t.Errorf("nice inside Run: %d (%v), want %d", inside, insideErr, max(Nice, before))
	}
	if after, err := niceness(); err != nil || after != before {
		t.Errorf("the caller's nice went from %d to %d (%v)", before, after, err)
	}
}
