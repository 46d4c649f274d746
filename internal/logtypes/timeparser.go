package logtypes

import "time"

// TimeParser reads the values of a timestamp field in the field's
// TimeFormat, exactly as the normalizer does. The data lake uses it to
// store timestamp fields as typed timestamps.
type TimeParser struct{ tf *timeFormat }

// NewTimeParser compiles a timeFormat value (rfc3339, unix, unix_ms,
// unix_us, unix_ns or a strftime pattern).
func NewTimeParser(format string) (*TimeParser, error) {
	tf, err := compileTimeFormat(format)
	if err != nil {
		return nil, err
	}
	return &TimeParser{tf: tf}, nil
}

// Parse reads a time from b: the text of a JSON string, unescaped, or of a
// JSON number when num is true. The result is in UTC; ok is false when b is
// not a time in the parser's format.
func (p *TimeParser) Parse(b []byte, num bool) (t time.Time, ok bool) {
	return p.tf.parse(b, num)
}
