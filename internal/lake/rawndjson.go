package lake

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// RawNDJSON is the baseline the lake is measured against: DuckDB over a
// raw NDJSON file with its own read_json and nothing of prowl's: no
// normalization, write-ahead log, lake tables or time pruning. Like the
// lake, it knows the schema beforehand: read_json infers it once, from the
// whole file (nested objects as structs), and every read then parses the
// file with it. (With the default sample, read_json refuses generated Okta
// events whose attack events bring keys the sample lacks.) `prowl bench`
// and the lake's benchmarks use it.
type RawNDJSON struct {
	connector *duckdb.Connector
	db        *sql.DB
	table     string
}

// OpenRawNDJSON opens an in-memory DuckDB in which the view table reads the
// NDJSON file path, and infers the file's schema.
func OpenRawNDJSON(path, table string) (*RawNDJSON, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, err
	}
	r := &RawNDJSON{connector: connector, db: sql.OpenDB(connector), table: table}
	if err := r.createView(path); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *RawNDJSON) createView(path string) error {
	read := "read_json(" + quoteLiteral(path) + ", format = 'newline_delimited'"
	rows, err := r.db.Query("DESCRIBE SELECT * FROM " + read + ", sample_size = -1)")
	if err != nil {
		return err
	}
	defer rows.Close()
	var columns []string
	for rows.Next() {
		var name, typ string
		var null, key, def, extra sql.NullString
		if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			return err
		}
		columns = append(columns, quoteLiteral(name)+": "+quoteLiteral(typ))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = r.db.Exec("CREATE VIEW " + quoteIdent(r.table) + " AS SELECT * FROM " + read +
		", columns = {" + strings.Join(columns, ", ") + "})")
	return err
}

// Close closes the database.
func (r *RawNDJSON) Close() error {
	return errors.Join(r.db.Close(), r.connector.Close())
}

// CopyToParquet writes the whole file to out as one zstd Parquet file
// (DuckDB's COPY).
func (r *RawNDJSON) CopyToParquet(ctx context.Context, out string) error {
	_, err := r.db.ExecContext(ctx, "COPY (SELECT * FROM "+quoteIdent(r.table)+") TO "+quoteLiteral(out)+
		" (FORMAT parquet, COMPRESSION zstd)")
	return err
}

// Query runs one SELECT over the view and returns up to 10,000 rows,
// converted as Querier.Query converts them, so the two answers compare
// equal.
func (r *RawNDJSON) Query(ctx context.Context, text string) (*Result, error) {
	start := time.Now()
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	res := &Result{Tables: []string{r.table}}
	err = conn.Raw(func(dc any) error {
		stmt, err := prepareSelect(dc, text)
		if err != nil {
			return err
		}
		defer stmt.Close()
		return readRows(ctx, stmt, nil, 10_000, res)
	})
	if err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}
