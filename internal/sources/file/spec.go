package file

import (
	"fmt"
	"path/filepath"

	"github.com/prowl-siem/prowl/internal/sources/core"
	"github.com/prowl-siem/prowl/internal/spec"
)

// TypeName is the watched-directory source type's registry name.
const TypeName = "file"

// Spec describes the file source type to the registry, forms and docs.
var Spec = core.Spec{
	Type:    TypeName,
	Name:    "Directory of files",
	Summary: "Ingests NDJSON and JSON-array files (optionally gzip) dropped into or appended to a directory.",
	Description: "Lists the directory every poll_interval. Complete lines of plain NDJSON files are read as they " +
		"are appended; gzip files, JSON arrays and a final line without newline wait until the file has not " +
		"changed for settle. Progress is checkpointed per file (identity and offset) after the sink acknowledged " +
		"the records, so a restart neither loses nor repeats them; renamed files are followed, replaced or " +
		"truncated ones are read again.",
	Fields: []spec.Field{
		{Name: "dir", Type: spec.String, Required: true, Example: "/var/log/app",
			Description: "Directory to watch (not recursive)."},
		{Name: "pattern", Type: spec.String, Default: "*", Example: "*.ndjson*",
			Description: "Shell glob matched against file names; hidden files are always skipped."},
		{Name: "log_type", Type: spec.String, Example: "AWS.CloudTrail",
			Description: "Log type of the events. Empty: the source's single log type, or classification when it has several."},
		{Name: "poll_interval", Type: spec.Duration, Default: "5s", Min: "1s", Max: "1h",
			Description: "How often the directory is listed."},
		{Name: "settle", Type: spec.Duration, Default: "30s", Min: "0s", Max: "24h", Advanced: true,
			Description: "How long a file must stay unchanged before an unterminated last line, a gzip file or a JSON array is read."},
		core.DropOffField("0s"),
	},
	Check: func(c *core.Config) error {
		if _, err := filepath.Match(c.String("pattern"), "x"); err != nil {
			return spec.FieldError{Field: "pattern", Message: fmt.Sprintf("%q is not a valid glob", c.String("pattern"))}
		}
		if !filepath.IsAbs(c.String("dir")) {
			return spec.FieldError{Field: "dir", Message: "must be an absolute path"}
		}
		return nil
	},
	New: func(inst core.Instance, c *core.Config, _ core.SecretFunc) (core.Source, error) {
		logType := c.String("log_type")
		if logType == "" && len(inst.LogTypes) == 1 {
			logType = inst.LogTypes[0]
		}
		settle := c.Duration("settle")
		if settle == 0 {
			settle = -1 // read at once; NewWatcher treats 0 as the default
		}
		return NewWatcher(inst.ID, inst.Label, WatchConfig{
			Dir:          c.String("dir"),
			Pattern:      c.String("pattern"),
			LogType:      logType,
			PollInterval: c.Duration("poll_interval"),
			Settle:       settle,
		})
	},
}
