package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/analysis"
)

func ts(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCronNextAndPrev(t *testing.T) {
	for _, tc := range []struct {
		expr, from string
		next       []string // successive Next times from `from`
	}{
		{"*/15 * * * *", "2026-03-04 10:07", []string{"2026-03-04 10:15", "2026-03-04 10:30", "2026-03-04 10:45", "2026-03-04 11:00"}},
		{"0 * * * *", "2026-03-04 10:00", []string{"2026-03-04 11:00", "2026-03-04 12:00"}},
		{"30 2 * * *", "2026-03-04 02:30", []string{"2026-03-05 02:30", "2026-03-06 02:30"}},
		{"0 9 * * 1-5", "2026-03-06 09:00", []string{"2026-03-09 09:00", "2026-03-10 09:00"}},     // Friday → Monday
		{"0 9 * * MON-FRI", "2026-03-06 09:00", []string{"2026-03-09 09:00", "2026-03-10 09:00"}}, // names
		{"0 0 * * 7", "2026-03-04 00:00", []string{"2026-03-08 00:00", "2026-03-15 00:00"}},       // 7 is Sunday
		{"0 0 1 */3 *", "2026-01-15 00:00", []string{"2026-04-01 00:00", "2026-07-01 00:00"}},     // quarterly
		{"0 0 29 2 *", "2026-01-01 00:00", []string{"2028-02-29 00:00", "2032-02-29 00:00"}},      // leap days
		{"0 0 13 * 5", "2026-03-01 00:00", []string{"2026-03-06 00:00", "2026-03-13 00:00"}},      // dom OR dow
		{"5/20 8-10 * jan,Mar ?", "2026-03-31 10:45", []string{"2027-01-01 08:05", "2027-01-01 08:25"}},
		{"0,30 12 1,15 * *", "2026-03-01 12:00", []string{"2026-03-01 12:30", "2026-03-15 12:00", "2026-03-15 12:30"}},
		{"@hourly", "2026-03-04 10:07", []string{"2026-03-04 11:00"}},
		{"@daily", "2026-03-04 10:07", []string{"2026-03-05 00:00"}},
		{"@weekly", "2026-03-04 10:07", []string{"2026-03-08 00:00"}},
		{"@monthly", "2026-03-04 10:07", []string{"2026-04-01 00:00"}},
		{"@yearly", "2026-03-04 10:07", []string{"2027-01-01 00:00"}},
	} {
		c, err := ParseCron(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		at := ts(tc.from)
		for _, want := range tc.next {
			next := c.Next(at)
			if !next.Equal(ts(want)) {
				t.Errorf("%q: Next(%s) = %s, want %s", tc.expr, at.Format(time.DateTime), next.Format(time.DateTime), want)
				break
			}
			if prev := c.Prev(next); !prev.IsZero() && !prev.Before(next) {
				t.Errorf("%q: Prev(%s) = %s is not before", tc.expr, next, prev)
			}
			// Prev undoes Next for firing times.
			if next2 := c.Next(next); !c.Prev(next2).Equal(next) {
				t.Errorf("%q: Prev(%s) = %s, want %s", tc.expr, next2, c.Prev(next2), next)
			}
			at = next
		}
	}
}

func TestCronPrevWithinAMinute(t *testing.T) {
	c, _ := ParseCron("*/15 * * * *")
	if got := c.Prev(ts("2026-03-04 10:15").Add(30 * time.Second)); !got.Equal(ts("2026-03-04 10:15")) {
		t.Errorf("Prev = %s", got)
	}
	if got := c.Prev(ts("2026-03-04 10:15")); !got.Equal(ts("2026-03-04 10:00")) {
		t.Errorf("Prev of a firing time = %s, want the one before", got)
	}
	if got := c.Next(ts("2026-03-04 10:14").Add(59 * time.Second)); !got.Equal(ts("2026-03-04 10:15")) {
		t.Errorf("Next = %s", got)
	}
}

func TestCronErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"":                "want 5 fields",
		"* * * *":         "want 5 fields",
		"* * * * * *":     "want 5 fields",
		"60 * * * *":      "minute: 60 is out of range 0-59",
		"* 24 * * *":      "hour: 24 is out of range 0-23",
		"* * 0 * *":       "day of month: 0 is out of range 1-31",
		"* * * 13 *":      "month: 13 is out of range 1-12",
		"* * * * 8":       "day of week: 8 is out of range 0-7",
		"*/0 * * * *":     `minute: bad step "0"`,
		"5-1 * * * *":     `minute: range "5-1" runs backwards`,
		"a * * * *":       `minute: "a" is not a number`,
		"1,,2 * * * *":    "minute: empty list item",
		"* * * FOO *":     `month: "FOO" is not a number`,
		"0 0 30 2 *":      "never fires",
		"0 0 31 4,6,9 *":  "never fires",
		"@every 5m":       "want 5 fields",
		"* * * * MON-FOO": `day of week: "FOO" is not a number`,
	} {
		_, err := ParseCron(expr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCron(%q) = %v, want an error containing %q", expr, err, want)
		}
	}
}

func TestRateAndParseSchedule(t *testing.T) {
	s, err := ParseSchedule(&analysis.Schedule{RateMinutes: 15, TimeoutMinutes: 5})
	if err != nil {
		t.Fatal(err)
	}
	at := ts("2026-03-04 10:07")
	if got := s.Next(at); !got.Equal(ts("2026-03-04 10:15")) {
		t.Errorf("Next = %s", got)
	}
	if got := s.Next(ts("2026-03-04 10:15")); !got.Equal(ts("2026-03-04 10:30")) {
		t.Errorf("Next of a firing time = %s", got)
	}
	if got := s.Prev(ts("2026-03-04 10:15")); !got.Equal(ts("2026-03-04 10:00")) {
		t.Errorf("Prev of a firing time = %s", got)
	}
	if got := s.Prev(at); !got.Equal(ts("2026-03-04 10:00")) {
		t.Errorf("Prev = %s", got)
	}
	if got := period(s, ts("2026-03-04 10:15")); got != 15*time.Minute {
		t.Errorf("period = %s", got)
	}
	// A rate that does not divide the day is aligned to the Unix epoch.
	r7 := Rate{Every: 7 * time.Minute}
	if n := r7.Next(at); n.UnixNano()%int64(7*time.Minute) != 0 || !n.After(at) || n.Sub(at) > 7*time.Minute {
		t.Errorf("7-minute Next = %s", n)
	}
	c, err := ParseSchedule(&analysis.Schedule{CronExpression: "0 9 * * 1-5"})
	if err != nil {
		t.Fatal(err)
	}
	if got := period(c, ts("2026-03-09 09:00")); got != 72*time.Hour {
		t.Errorf("Monday's period = %s, want back to Friday", got)
	}
	if _, err := ParseSchedule(nil); err == nil {
		t.Error("nil schedule parsed")
	}
	if _, err := ParseSchedule(&analysis.Schedule{TimeoutMinutes: 5}); err == nil {
		t.Error("schedule without rate or cron parsed")
	}
}

func TestExpandLookback(t *testing.T) {
	from, to := ts("2026-03-04 10:00"), ts("2026-03-04 10:15")
	between := "p_occurs_between('2026-03-04 10:00:00.000000', '2026-03-04 10:14:59.999999')"
	for in, want := range map[string]string{
		"SELECT * FROM t WHERE p_occurs_in_lookback()":                  "SELECT * FROM t WHERE " + between,
		"SELECT * FROM t WHERE P_Occurs_In_Lookback ( )":                "SELECT * FROM t WHERE " + between,
		"SELECT * FROM t a JOIN u b ON … WHERE p_occurs_in_lookback(a)": "SELECT * FROM t a JOIN u b ON … WHERE " + strings.TrimSuffix(between, ")") + ", a)",
		"SELECT 'p_occurs_in_lookback()' AS s":                          "SELECT 'p_occurs_in_lookback()' AS s",
		`SELECT "p_occurs_in_lookback" FROM t`:                          `SELECT "p_occurs_in_lookback" FROM t`,
		"SELECT 1 -- p_occurs_in_lookback()\nFROM t":                    "SELECT 1 -- p_occurs_in_lookback()\nFROM t",
		"SELECT /* p_occurs_in_lookback() */ 1":                         "SELECT /* p_occurs_in_lookback() */ 1",
		"SELECT my_p_occurs_in_lookback() FROM t":                       "SELECT my_p_occurs_in_lookback() FROM t",
		"SELECT 'it''s' || x FROM t WHERE p_occurs_in_lookback()":       "SELECT 'it''s' || x FROM t WHERE " + between,
		"SELECT * FROM t WHERE p_occurs_since('1 day')":                 "SELECT * FROM t WHERE p_occurs_since('1 day')",
	} {
		if got := expandLookback(in, from, to); got != want {
			t.Errorf("expandLookback(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}
