package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestBenchReportsEverySection(t *testing.T) {
	var out bytes.Buffer
	err := runBench(context.Background(), &out, io.Discard, &benchFlags{events: 2000, seed: 1, batch: 512, ingestEvents: 1000})
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	text := out.String()
	num := func(row map[string]string, col string) float64 {
		t.Helper()
		// "12,345", "9.3%", "0.4 MB", "5.1 ms"
		v, err := strconv.ParseFloat(strings.TrimSuffix(strings.ReplaceAll(strings.TrimRight(row[col], " MBms"), ",", ""), "%"), 64)
		if err != nil {
			t.Fatalf("%s: %q is not a number:\n%s", col, row[col], text)
		}
		return v
	}

	simple := benchTable(t, text, "simple detections:")
	if len(simple) != 3 || simple[0]["run"] != "baseline: prefilters off" || simple[1]["run"] != "prefilters on" ||
		simple[2]["run"] != "prefilters on, from log records" {
		t.Fatalf("simple detections: rows %v:\n%s", simple, text)
	}
	for _, r := range simple {
		if num(r, "events/s/core") <= 0 || num(r, "matches") <= 0 {
			t.Errorf("simple detections, %s: %v", r["run"], r)
		}
	}
	if simple[0]["matches"] != simple[1]["matches"] || simple[2]["matches"] != simple[1]["matches"] || simple[0]["decoded"] != "100.0%" ||
		num(simple[1], "decoded") >= 100 || simple[2]["decoded"] != simple[1]["decoded"] {
		t.Errorf("simple detections: prefilters off %v, on %v", simple[0], simple[1])
	}

	ingest := benchTable(t, text, "lake ingest:")
	if len(ingest) != 2 || !strings.HasPrefix(ingest[0]["run"], "baseline: DuckDB") || !strings.HasPrefix(ingest[1]["run"], "prowl:") {
		t.Fatalf("lake ingest: rows %v:\n%s", ingest, text)
	}
	for _, r := range ingest {
		if num(r, "MB/s") <= 0 || num(r, "events/s") <= 0 || num(r, "of raw") <= 0 {
			t.Errorf("lake ingest, %s: %v", r["run"], r)
		}
	}

	queries := benchTable(t, text, "lake queries:")
	if len(queries) != 3 {
		t.Fatalf("lake queries: rows %v:\n%s", queries, text)
	}
	for _, r := range queries {
		if num(r, "rows") <= 0 || num(r, "lake files") <= 0 || num(r, "lake p50") <= 0 || num(r, "baseline p50") <= 0 ||
			num(r, "lake max") < num(r, "lake p50") {
			t.Errorf("lake queries, %s: %v", r["query"], r)
		}
	}
}

// benchTable returns the rows of the table that follows the line starting
// with title (after the title's continuation lines), each as a map from
// column to cell.
func benchTable(t *testing.T, text, title string) []map[string]string {
	t.Helper()
	_, rest, ok := strings.Cut(text, "\n"+title)
	if !ok {
		t.Fatalf("no %q table:\n%s", title, text)
	}
	cells := regexp.MustCompile(`\s{2,}`)
	var header []string
	var rows []map[string]string
	for _, line := range strings.Split(rest, "\n")[1:] {
		fields := cells.Split(strings.TrimSpace(line), -1)
		switch {
		case header == nil && len(fields) > 2:
			header = fields
		case header == nil:
			continue
		case len(fields) != len(header):
			return rows
		default:
			row := map[string]string{}
			for i, f := range fields {
				row[header[i]] = f
			}
			rows = append(rows, row)
		}
	}
	return rows
}
