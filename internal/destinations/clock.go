package destinations

import "time"

// Clock is time as the dispatcher sees it; tests substitute a fake one
// (destinationstest.Clock) to drive retries without sleeping.
type Clock interface {
	Now() time.Time
	// TimerAt returns a channel that receives once the clock reaches
	// deadline (at once if it has) and a function that stops the timer.
	// Deadlines are absolute so that a timer set while a fake clock jumps
	// cannot fire late.
	TimerAt(deadline time.Time) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) TimerAt(deadline time.Time) (<-chan time.Time, func() bool) {
	t := time.NewTimer(time.Until(deadline))
	return t.C, t.Stop
}

// RealClock is the wall clock.
var RealClock Clock = realClock{}
