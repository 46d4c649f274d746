package lowprio

import "syscall"

// lower sets the calling thread's nice value to Nice. On Linux the
// priority set for a thread ID applies to that thread alone.
func lower() { _ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), Nice) }
