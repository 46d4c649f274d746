package lake

import (
	"bufio"
	"context"
	"database/sql/driver"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/prowl-siem/prowl/internal/logtypes"
)

// This file writes a flush's Parquet files in Go, straight from the
// buffered events: no DuckDB staging table, no appender, no COPY. The
// files have the column types DuckDB itself writes for the table
// (VARCHAR as STRING, BIGINT as INT64, TIMESTAMP as INT64 microseconds not
// adjusted to UTC, VARCHAR[] as a LIST of STRING), so compaction and
// queries read them and DuckDB's merged files alike.

// zstdFastest compresses flush files: they are merged (and compressed
// again by DuckDB) once compaction gathers enough of them.
var zstdFastest compress.Codec = &zstd.Codec{Level: zstd.SpeedFastest}

// columnsNode is the root of a table's Parquet schema. Unlike
// parquet.Group, which orders fields by name, it keeps the table's column
// order, the order `SELECT *` shows.
type columnsNode struct{ fields []parquet.Field }

func (n *columnsNode) ID() int                     { return 0 }
func (n *columnsNode) Type() parquet.Type          { return parquet.Group{}.Type() }
func (n *columnsNode) Optional() bool              { return false }
func (n *columnsNode) Repeated() bool              { return false }
func (n *columnsNode) Required() bool              { return true }
func (n *columnsNode) Leaf() bool                  { return false }
func (n *columnsNode) Fields() []parquet.Field     { return n.fields }
func (n *columnsNode) Encoding() encoding.Encoding { return nil }
func (n *columnsNode) Compression() compress.Codec { return nil }
func (n *columnsNode) GoType() reflect.Type        { return reflect.TypeFor[map[string]any]() }

func (n *columnsNode) String() string {
	names := make([]string, len(n.fields))
	for i, f := range n.fields {
		names[i] = f.Name()
	}
	return "columns(" + strings.Join(names, ", ") + ")"
}

// column is one field of a columnsNode.
type column struct {
	parquet.Node
	name string
}

func (c *column) Name() string { return c.name }
func (c *column) Value(base reflect.Value) reflect.Value {
	return base.MapIndex(reflect.ValueOf(c.name))
}

// columnNode is the Parquet node of a column kind; every column is
// nullable.
func columnNode(k colKind) parquet.Node {
	var n parquet.Node
	switch k {
	case kInt:
		n = parquet.Int(64)
	case kFloat:
		n = parquet.Leaf(parquet.DoubleType)
	case kBool:
		n = parquet.Leaf(parquet.BooleanType)
	case kTimestamp:
		n = parquet.TimestampAdjusted(parquet.Microsecond, false)
	case kList:
		n = parquet.List(parquet.String())
	default: // kString, kJSON
		n = parquet.String()
	}
	return parquet.Optional(n)
}

// parquetSchema is the Parquet schema of the table's files, made once.
// Each column is one leaf, so a column's index is its leaf's index.
func (d *tableDef) parquetSchema() *parquet.Schema {
	d.pqOnce.Do(func() {
		root := &columnsNode{}
		for i, c := range d.cols {
			root.fields = append(root.fields, &column{Node: columnNode(d.kinds[i]), name: c.Name})
		}
		d.pq = parquet.NewSchema(d.name, root)
	})
	return d.pq
}

// writeBatchRows is how many rows go to the Parquet writer at once.
const writeBatchRows = 256

// writeParquet writes a partition's events and rows to a new Parquet file
// at path.
func writeParquet(ctx context.Context, path string, def *tableDef, events []logtypes.Event, rows [][]driver.Value) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := parquet.NewWriter(bw, def.parquetSchema(), parquet.Compression(zstdFastest),
		parquet.MaxRowsPerRowGroup(rowGroupRows), parquet.CreatedBy("prowl", "", ""), parquet.DefaultEncodingFor(parquet.ByteArray, &parquet.RLEDictionary), parquet.DictionaryMaxBytes(1<<20))
	batch := make([]parquet.Row, 0, writeBatchRows)
	put := func(vals []driver.Value) error {
		i := len(batch)
		batch = batch[:i+1]
		var err error
		if batch[i], err = appendRow(batch[i][:0], def, vals); err != nil {
			return err
		}
		if len(batch) < cap(batch) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err = w.WriteRows(batch)
		batch = batch[:0]
		return err
	}
	rb := newRowBuilder(def)
	for i := range events {
		if err = put(rb.row(&events[i])); err != nil {
			break
		}
	}
	for _, r := range rows {
		if err != nil {
			break
		}
		err = put(r)
	}
	if err == nil && len(batch) > 0 {
		_, err = w.WriteRows(batch)
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// appendRow appends the Parquet values of a row of the table to row: one
// value per column, or one per element of a list. Values alias vals'
// strings and bytes. Text that is not valid UTF-8, which DuckDB's VARCHAR
// cannot hold, is stored with each invalid byte written \xNN.
func appendRow(row parquet.Row, def *tableDef, vals []driver.Value) (parquet.Row, error) {
	for i, v := range vals {
		var pv parquet.Value
		switch v := v.(type) {
		case nil:
			row = append(row, parquet.NullValue().Level(0, 0, i))
			continue
		case string:
			pv = textValue(v)
		case []byte:
			pv = bytesValue(v)
		case int64:
			pv = parquet.Int64Value(v)
		case float64:
			pv = parquet.DoubleValue(v)
		case bool:
			pv = parquet.BooleanValue(v)
		case time.Time:
			pv = parquet.Int64Value(v.UnixMicro())
		case []any:
			if len(v) == 0 {
				row = append(row, parquet.NullValue().Level(0, 1, i)) // an empty list
			}
			for j, e := range v {
				s, _ := e.(string)
				row = append(row, textValue(s).Level(min(j, 1), 2, i))
			}
			continue
		default: // the row builders make only the types above
			return row, fmt.Errorf("column %s: unexpected value type %T", def.cols[i].Name, v)
		}
		row = append(row, pv.Level(0, 1, i))
	}
	return row, nil
}

func textValue(s string) parquet.Value {
	return bytesValue(unsafe.Slice(unsafe.StringData(s), len(s)))
}

func bytesValue(b []byte) parquet.Value {
	if !utf8.Valid(b) {
		b = []byte(validUTF8(b))
	}
	return parquet.ByteArrayValue(b)
}
