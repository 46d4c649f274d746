//go:build !linux

package lowprio

// lower does nothing where threads have no priority of their own.
func lower() {}
