package logtypes

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file parses timestamps without allocating: RFC 3339 (leniently),
// Unix epochs in four units, and strftime patterns compiled once per field.

type timeKind uint8

const (
	tkRFC3339 timeKind = iota
	tkUnix
	tkUnixMs
	tkUnixUs
	tkUnixNs
	tkStrftime
)

// timeFormat is a compiled timeFormat value.
type timeFormat struct {
	kind timeKind
	pat  []tdir // strftime directives
}

// tdir is one step of a strftime pattern: a conversion (op is the letter
// after %), a literal byte run (op 0), or whitespace (op ' ').
type tdir struct {
	op  byte
	lit string
}

// maxUnixSeconds bounds timestamps to years 1–9999, which p_event_time can
// render.
const (
	minUnixSeconds = -62135596800 // 0001-01-01T00:00:00Z
	maxUnixSeconds = 253402300799 // 9999-12-31T23:59:59Z
)

// compileTimeFormat checks and compiles a timeFormat value.
func compileTimeFormat(s string) (*timeFormat, error) {
	switch s {
	case TimeRFC3339:
		return &timeFormat{kind: tkRFC3339}, nil
	case TimeUnix:
		return &timeFormat{kind: tkUnix}, nil
	case TimeUnixMs:
		return &timeFormat{kind: tkUnixMs}, nil
	case TimeUnixUs:
		return &timeFormat{kind: tkUnixUs}, nil
	case TimeUnixNs:
		return &timeFormat{kind: tkUnixNs}, nil
	}
	if !strings.Contains(s, "%") {
		return nil, fmt.Errorf("%q is neither rfc3339, unix, unix_ms, unix_us, unix_ns nor a strftime pattern%s",
			s, didYouMean(s, []string{TimeRFC3339, TimeUnix, TimeUnixMs, TimeUnixUs, TimeUnixNs}))
	}
	pat, err := compileStrftime(s)
	if err != nil {
		return nil, err
	}
	return &timeFormat{kind: tkStrftime, pat: pat}, nil
}

// strftime conversions that expand to others.
var strftimeAliases = map[byte]string{'T': "%H:%M:%S", 'D': "%m/%d/%y", 'F': "%Y-%m-%d", 'R': "%H:%M"}

const strftimeOps = "YymdeHIMSfpbhBaAjzZs%nt"

func compileStrftime(s string) ([]tdir, error) {
	var pat []tdir
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			pat = append(pat, tdir{lit: string(lit)})
			lit = lit[:0]
		}
	}
	var expand func(s string, nested bool) error
	expand = func(s string, nested bool) error {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == ' ' || c == '\t' {
				flush()
				if len(pat) == 0 || pat[len(pat)-1].op != ' ' {
					pat = append(pat, tdir{op: ' '})
				}
				continue
			}
			if c != '%' {
				lit = append(lit, c)
				continue
			}
			if i+1 >= len(s) {
				return errors.New("the pattern ends with a lone %")
			}
			i++
			op := s[i]
			if a, ok := strftimeAliases[op]; ok && !nested {
				if err := expand(a, true); err != nil {
					return err
				}
				continue
			}
			switch {
			case op == '%':
				lit = append(lit, '%')
			case op == 'n' || op == 't':
				flush()
				pat = append(pat, tdir{op: ' '})
			case strings.IndexByte(strftimeOps, op) >= 0:
				flush()
				if op == 'h' {
					op = 'b'
				}
				pat = append(pat, tdir{op: op})
			default:
				return fmt.Errorf("unsupported conversion %%%c (supported: %%Y %%y %%m %%d %%e %%H %%I %%M %%S %%f %%p %%b %%B %%a %%A %%j %%z %%Z %%s %%T %%D %%F %%R %%%%)", op)
			}
		}
		return nil
	}
	if err := expand(s, false); err != nil {
		return nil, err
	}
	flush()
	var hasYear, hasEpoch bool
	seen := map[byte]bool{}
	for _, d := range pat {
		switch d.op {
		case 0, ' ':
			continue
		case 'Y', 'y':
			hasYear = true
		case 's':
			hasEpoch = true
		}
		if seen[d.op] {
			return nil, fmt.Errorf("%%%c appears twice", d.op)
		}
		seen[d.op] = true
	}
	if !hasYear && !hasEpoch {
		return nil, errors.New("the pattern needs a year (%Y or %y) or %s, so that times are not ambiguous")
	}
	return pat, nil
}

// parse reads a time from b, the text of a JSON string (unescaped) or of a
// JSON number (num is true). The result is in UTC.
func (tf *timeFormat) parse(b []byte, num bool) (time.Time, bool) {
	switch tf.kind {
	case tkRFC3339:
		if num {
			return time.Time{}, false
		}
		return parseRFC3339(b)
	case tkUnix:
		return parseUnix(b, 1e9)
	case tkUnixMs:
		return parseUnix(b, 1e6)
	case tkUnixUs:
		return parseUnix(b, 1e3)
	case tkUnixNs:
		return parseUnix(b, 1)
	default:
		if num {
			return time.Time{}, false
		}
		return parseStrftime(tf.pat, b)
	}
}

// digits reads exactly n ASCII digits at b[i:].
func digits(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseRFC3339 reads YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|±hh:mm|±hhmm|±hh].
// A missing offset means UTC; a space may replace the T.
func parseRFC3339(b []byte) (time.Time, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	if c := b[10]; c != 'T' && c != 't' && c != ' ' {
		return time.Time{}, false
	}
	y, ok1 := digits(b, 0, 4)
	mo, ok2 := digits(b, 5, 2)
	d, ok3 := digits(b, 8, 2)
	h, ok4 := digits(b, 11, 2)
	mi, ok5 := digits(b, 14, 2)
	s, ok6 := digits(b, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, false
	}
	i := 19
	ns := 0
	if i < len(b) && (b[i] == '.' || b[i] == ',') {
		i++
		start := i
		ns, i = fraction(b, i)
		if i == start {
			return time.Time{}, false
		}
	}
	off, i, ok := zoneOffset(b, i, true)
	if !ok || i != len(b) {
		return time.Time{}, false
	}
	return makeTime(y, mo, d, h, mi, s, ns, off)
}

// fraction reads fractional-second digits at b[i:] and returns nanoseconds
// (digits past the ninth are read and dropped).
func fraction(b []byte, i int) (int, int) {
	ns, n := 0, 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if n < 9 {
			ns = ns*10 + int(b[i]-'0')
			n++
		}
	}
	for ; n < 9 && n > 0; n++ {
		ns *= 10
	}
	return ns, i
}

// zoneOffset reads Z, ±hh:mm, ±hhmm or ±hh at b[i:] (or nothing when
// optional) and returns the offset in seconds east of UTC.
func zoneOffset(b []byte, i int, optional bool) (int, int, bool) {
	if i >= len(b) {
		return 0, i, optional
	}
	switch b[i] {
	case 'Z', 'z':
		return 0, i + 1, true
	case '+', '-':
	default:
		return 0, i, optional
	}
	sign := 1
	if b[i] == '-' {
		sign = -1
	}
	h, ok := digits(b, i+1, 2)
	if !ok {
		return 0, i, false
	}
	i += 3
	m := 0
	if i < len(b) && b[i] == ':' {
		if m, ok = digits(b, i+1, 2); !ok {
			return 0, i, false
		}
		i += 3
	} else if mm, ok := digits(b, i, 2); ok {
		m = mm
		i += 2
	}
	if h > 23 || m > 59 {
		return 0, i, false
	}
	return sign * (h*3600 + m*60), i, true
}

var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// makeTime checks the parts of a civil time and returns it in UTC.
func makeTime(y, mo, d, h, mi, s, ns, off int) (time.Time, bool) {
	if y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > daysIn[mo] || h > 23 || mi > 59 || s > 60 {
		return time.Time{}, false
	}
	if mo == 2 && d == 29 && !(y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	if off != 0 {
		t = t.Add(-time.Duration(off) * time.Second)
	}
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// parseUnix reads a decimal number of units since the epoch, unit being the
// number of nanoseconds in one unit. Fractions and exponents are allowed.
func parseUnix(b []byte, unit int64) (time.Time, bool) {
	neg := false
	i := 0
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var whole int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if i-start >= 19 {
			return time.Time{}, false
		}
		whole = whole*10 + int64(b[i]-'0')
	}
	if i == start {
		return time.Time{}, false
	}
	fracNs := 0
	if i < len(b) && b[i] == '.' {
		i++
		fs := i
		fracNs, i = fraction(b, i)
		if i == fs {
			return time.Time{}, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		return parseUnixFloat(b, unit)
	}
	if i != len(b) {
		return time.Time{}, false
	}
	perSec := int64(1e9) / unit
	sec := whole / perSec
	nsec := (whole%perSec)*unit + int64(fracNs)*unit/1e9
	if neg {
		sec, nsec = -sec, -nsec
	}
	if sec < minUnixSeconds || sec > maxUnixSeconds {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec).UTC(), true
}

func parseUnixFloat(b []byte, unit int64) (time.Time, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	secs := f * float64(unit) / 1e9
	if secs < minUnixSeconds || secs > maxUnixSeconds {
		return time.Time{}, false
	}
	whole := math.Floor(secs)
	return time.Unix(int64(whole), int64((secs-whole)*1e9)).UTC(), true
}

var monthNames = [12]string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}
var dayNames = [7]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// upTo reads 1 to n digits at b[i:].
func upTo(b []byte, i, n int) (int, int, bool) {
	v, j := 0, i
	for ; j < len(b) && j-i < n && b[j] >= '0' && b[j] <= '9'; j++ {
		v = v*10 + int(b[j]-'0')
	}
	return v, j, j > i
}

// matchName matches a month or day name at b[i:], full or abbreviated to
// three letters, ignoring case.
func matchName(b []byte, i int, names []string, full bool) (int, int, bool) {
	for k, name := range names {
		n := name
		if !full {
			n = name[:3]
		}
		if i+len(n) <= len(b) && strings.EqualFold(string(b[i:i+len(n)]), n) {
			return k, i + len(n), true
		}
	}
	return 0, i, false
}

// parseStrftime reads b according to a compiled strftime pattern.
func parseStrftime(pat []tdir, b []byte) (time.Time, bool) {
	y, mo, d, h, mi, s, ns, off := 1900, 1, 1, 0, 0, 0, 0, 0
	yday, pm, twelve := 0, -1, false
	var epoch int64
	hasEpoch := false
	i := 0
	var ok bool
	for _, dir := range pat {
		switch dir.op {
		case 0:
			if i+len(dir.lit) > len(b) || string(b[i:i+len(dir.lit)]) != dir.lit {
				return time.Time{}, false
			}
			i += len(dir.lit)
			continue
		case ' ':
			j := i
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			i = j
			continue
		case 'Y':
			if y, ok = digits(b, i, 4); !ok {
				return time.Time{}, false
			}
			i += 4
		case 'y':
			var yy int
			if yy, ok = digits(b, i, 2); !ok {
				return time.Time{}, false
			}
			i += 2
			if yy < 69 {
				y = 2000 + yy
			} else {
				y = 1900 + yy
			}
		case 'm':
			mo, i, ok = upTo(b, i, 2)
		case 'd':
			d, i, ok = upTo(b, i, 2)
		case 'e':
			if i < len(b) && b[i] == ' ' {
				i++
			}
			d, i, ok = upTo(b, i, 2)
		case 'H':
			h, i, ok = upTo(b, i, 2)
		case 'I':
			h, i, ok = upTo(b, i, 2)
			twelve = true
			ok = ok && h >= 1 && h <= 12
		case 'M':
			mi, i, ok = upTo(b, i, 2)
		case 'S':
			s, i, ok = upTo(b, i, 2)
		case 'f':
			start := i
			ns, i = fraction(b, i)
			ok = i > start
		case 'p':
			switch {
			case i+2 <= len(b) && strings.EqualFold(string(b[i:i+2]), "am"):
				pm = 0
			case i+2 <= len(b) && strings.EqualFold(string(b[i:i+2]), "pm"):
				pm = 1
			default:
				return time.Time{}, false
			}
			i += 2
		case 'b':
			var k int
			if k, i, ok = matchName(b, i, monthNames[:], false); ok {
				mo = k + 1
			}
		case 'B':
			var k int
			if k, i, ok = matchName(b, i, monthNames[:], true); ok {
				mo = k + 1
			}
		case 'a':
			_, i, ok = matchName(b, i, dayNames[:], false)
		case 'A':
			_, i, ok = matchName(b, i, dayNames[:], true)
		case 'j':
			yday, i, ok = upTo(b, i, 3)
			ok = ok && yday >= 1 && yday <= 366
		case 'z':
			off, i, ok = zoneOffset(b, i, false)
		case 'Z':
			j := i
			for j < len(b) && ((b[j] >= 'A' && b[j] <= 'Z') || (b[j] >= 'a' && b[j] <= 'z')) {
				j++
			}
			switch strings.ToUpper(string(b[i:j])) {
			case "UTC", "GMT", "Z", "UT":
				ok = true
			default:
				ok = false
			}
			i = j
		case 's':
			var v int64
			neg := i < len(b) && b[i] == '-'
			if neg {
				i++
			}
			j := i
			for ; j < len(b) && b[j] >= '0' && b[j] <= '9' && j-i < 12; j++ {
				v = v*10 + int64(b[j]-'0')
			}
			ok = j > i
			if neg {
				v = -v
			}
			epoch, hasEpoch, i = v, true, j
		}
		if !ok {
			return time.Time{}, false
		}
	}
	if i != len(b) {
		return time.Time{}, false
	}
	if hasEpoch {
		if epoch < minUnixSeconds || epoch > maxUnixSeconds {
			return time.Time{}, false
		}
		return time.Unix(epoch, int64(ns)).UTC(), true
	}
	if twelve {
		if pm < 0 {
			pm = 0
		}
		h = h%12 + 12*pm
	} else if pm == 1 && h < 12 {
		h += 12
	}
	if yday > 0 && mo == 1 && d == 1 {
		t := time.Date(y, 1, yday, 0, 0, 0, 0, time.UTC)
		if t.Year() != y {
			return time.Time{}, false
		}
		mo, d = int(t.Month()), t.Day()
	}
	return makeTime(y, mo, d, h, mi, s, ns, off)
}

// pantherTime renders times in UTC as "YYYY-MM-DD HH:MM:SS.ffffff", the
// format of p_event_time and p_parse_time. Working out the calendar date is
// most of the cost, and a stream of events mostly shares one day, so it
// keeps the date of the last day it rendered. The zero value is ready to
// use.
type pantherTime struct {
	day  int64    // the remembered day, in days since the Unix epoch
	date [11]byte // its "YYYY-MM-DD "
	set  bool     // whether day and date are set
}

// append appends t in the format.
func (p *pantherTime) append(dst []byte, t time.Time) []byte {
	sec := t.Unix()
	day := sec / 86400
	if sec%86400 < 0 {
		day--
	}
	if !p.set || day != p.day {
		y, mo, d := t.UTC().Date()
		p.date = [11]byte{
			byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
			byte('0' + int(mo)/10), byte('0' + int(mo)%10), '-',
			byte('0' + d/10), byte('0' + d%10), ' ',
		}
		p.day, p.set = day, true
	}
	s := int(sec - day*86400)
	h, mi := s/3600, s/60%60
	s %= 60
	us := t.Nanosecond() / 1000
	dst = append(dst, p.date[:]...)
	return append(dst,
		byte('0'+h/10), byte('0'+h%10), ':',
		byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10), '.',
		byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
		byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10))
}

// PantherTimeLayout is the Go layout of p_event_time and p_parse_time, for
// callers that parse them back.
const PantherTimeLayout = "2006-01-02 15:04:05.000000"
