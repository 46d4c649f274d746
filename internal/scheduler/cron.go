package scheduler

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Cron is a parsed standard five-field cron expression, evaluated in UTC:
//
//	minute (0-59)  hour (0-23)  day of month (1-31)  month (1-12 or JAN-DEC)  day of week (0-7 or SUN-SAT; 0 and 7 are Sunday)
//
// Each field is "*", a value, a range "a-b", a list "a,b-c", or any of
// those with a step ("*/15", "10-50/10", "5/20" meaning 5-max/20). "?" is
// "*" (as in AWS/Quartz expressions). When both the day of month and the
// day of week are restricted (neither starts with "*" or "?"), a day
// matches if either does, as in Vixie cron. The macros @yearly
// (@annually), @monthly, @weekly, @daily (@midnight) and @hourly are
// accepted.
//
// prowl parses cron itself rather than taking a dependency: the format is
// small, the scheduler needs Prev as well as Next (a run's default
// lookback is the time since the previous fire), and it must never loop
// on an expression that cannot fire (Parse rejects those).
type Cron struct {
	text                     string
	minute, hour, dom, month uint64 // bit i set: value i allowed
	dow                      uint64 // 0-6, Sunday is 0
	domStar, dowStar         bool
}

var cronMacros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

var monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
var dayNames = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

// ParseCron parses a cron expression. Errors name the field at fault.
func ParseCron(text string) (*Cron, error) {
	expr := strings.TrimSpace(text)
	if m, ok := cronMacros[strings.ToLower(expr)]; ok {
		expr = m
	}
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return nil, fmt.Errorf("cron %q: want 5 fields (minute hour day-of-month month day-of-week), got %d", text, len(fields))
	}
	c := &Cron{text: text}
	var err error
	specs := []struct {
		name     string
		min, max int
		names    []string
		nameBase int
		dst      *uint64
	}{
		{"minute", 0, 59, nil, 0, &c.minute},
		{"hour", 0, 23, nil, 0, &c.hour},
		{"day of month", 1, 31, nil, 0, &c.dom},
		{"month", 1, 12, monthNames, 1, &c.month},
		{"day of week", 0, 7, dayNames, 0, &c.dow},
	}
	for i, sp := range specs {
		if *sp.dst, err = parseCronField(fields[i], sp.min, sp.max, sp.names, sp.nameBase); err != nil {
			return nil, fmt.Errorf("cron %q: %s: %v", text, sp.name, err)
		}
	}
	if c.dow&(1<<7) != 0 {
		c.dow = c.dow&^(1<<7) | 1
	}
	c.domStar = fields[2][0] == '*' || fields[2][0] == '?'
	c.dowStar = fields[4][0] == '*' || fields[4][0] == '?'
	// An expression such as "0 0 31 2 *" (February 31st) never fires.
	if c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("cron %q never fires", text)
	}
	return c, nil
}

func parseCronField(f string, lo, hi int, names []string, nameBase int) (uint64, error) {
	var set uint64
	for _, part := range strings.Split(f, ",") {
		if part == "" {
			return 0, fmt.Errorf("empty list item in %q", f)
		}
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("bad step %q", stepText)
			}
			step = n
		}
		var from, to int
		switch {
		case rng == "*" || rng == "?":
			from, to = lo, hi
		default:
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if from, err = cronValue(a, lo, hi, names, nameBase); err != nil {
				return 0, err
			}
			to = from
			if isRange {
				if to, err = cronValue(b, lo, hi, names, nameBase); err != nil {
					return 0, err
				}
				if to < from {
					return 0, fmt.Errorf("range %q runs backwards", rng)
				}
			} else if hasStep {
				to = hi // "5/20": from 5 to the end, every 20
			}
		}
		for v := from; v <= to; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

func cronValue(s string, lo, hi int, names []string, nameBase int) (int, error) {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i + nameBase, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%d is out of range %d-%d", v, lo, hi)
	}
	return v, nil
}

// String is the expression as written.
func (c *Cron) String() string { return c.text }

// dayMatches reports whether the day of t (UTC) is a firing day.
func (c *Cron) dayMatches(t time.Time) bool {
	if c.month&(1<<int(t.Month())) == 0 {
		return false
	}
	dom := c.dom&(1<<t.Day()) != 0
	dow := c.dow&(1<<int(t.Weekday())) != 0
	switch {
	case c.domStar && c.dowStar:
		return true
	case c.domStar:
		return dow
	case c.dowStar:
		return dom
	}
	return dom || dow
}

// searchDays bounds the search for a firing day: every valid expression
// fires within 8 years (February 29th on a Sunday, say, needs up to 28).
const searchDays = 366 * 30

// Next returns the first firing time strictly after t, or the zero time
// if there is none within decades (Parse rejects such expressions).
func (c *Cron) Next(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	for i := 0; i < searchDays; i++ {
		if c.dayMatches(day) {
			for h := range bitsOf(c.hour) {
				for m := range bitsOf(c.minute) {
					if at := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute); at.After(t) {
						return at
					}
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// Prev returns the last firing time strictly before t, or the zero time.
func (c *Cron) Prev(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	hours, minutes := bitsList(c.hour), bitsList(c.minute)
	for i := 0; i < searchDays; i++ {
		if c.dayMatches(day) {
			for hi := len(hours) - 1; hi >= 0; hi-- {
				for mi := len(minutes) - 1; mi >= 0; mi-- {
					if at := day.Add(time.Duration(hours[hi])*time.Hour + time.Duration(minutes[mi])*time.Minute); at.Before(t) {
						return at
					}
				}
			}
		}
		day = day.AddDate(0, 0, -1)
	}
	return time.Time{}
}

// bitsOf yields the set bits of s in increasing order.
func bitsOf(s uint64) func(func(int) bool) {
	return func(yield func(int) bool) {
		for s != 0 {
			i := bits.TrailingZeros64(s)
			if !yield(i) {
				return
			}
			s &^= 1 << i
		}
	}
}

func bitsList(s uint64) []int {
	var out []int
	for i := range bitsOf(s) {
		out = append(out, i)
	}
	return out
}
