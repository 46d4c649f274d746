package scheduler

import (
	"errors"
	"fmt"
	"time"

	"github.com/prowl-siem/prowl/internal/analysis"
)

// Schedule says when a job fires.
type Schedule interface {
	// Next is the first firing time strictly after t; Prev the last one
	// strictly before t.
	Next(t time.Time) time.Time
	Prev(t time.Time) time.Time
	String() string
}

// Rate fires every Every, at the multiples of Every since the Unix epoch
// (UTC): RateMinutes 15 fires at :00, :15, :30 and :45. Aligning to the
// epoch rather than to when prowl started keeps the times stable across
// restarts.
type Rate struct{ Every time.Duration }

// Next implements Schedule.
func (r Rate) Next(t time.Time) time.Time {
	return time.Unix(0, (floorDiv(t.UnixNano(), int64(r.Every))+1)*int64(r.Every)).UTC()
}

// Prev implements Schedule.
func (r Rate) Prev(t time.Time) time.Time {
	n := t.UnixNano()
	k := floorDiv(n, int64(r.Every))
	if k*int64(r.Every) == n {
		k--
	}
	return time.Unix(0, k*int64(r.Every)).UTC()
}

func (r Rate) String() string { return fmt.Sprintf("every %s", shortDuration(r.Every)) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func shortDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// ParseSchedule turns a spec's Schedule into a Schedule: RateMinutes, or
// CronExpression (standard five fields, UTC).
func ParseSchedule(s *analysis.Schedule) (Schedule, error) {
	switch {
	case s == nil:
		return nil, errors.New("no Schedule")
	case s.CronExpression != "":
		return ParseCron(s.CronExpression)
	case s.RateMinutes > 0:
		return Rate{Every: time.Duration(s.RateMinutes) * time.Minute}, nil
	}
	return nil, errors.New("Schedule needs RateMinutes or CronExpression")
}

// period is the length of the schedule period that ends at (or holds) t:
// the time since the previous firing time for a firing time t.
func period(s Schedule, t time.Time) time.Duration {
	prev := s.Prev(t)
	if prev.IsZero() {
		return 0
	}
	return t.Sub(prev)
}
