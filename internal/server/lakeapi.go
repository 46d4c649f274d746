package server

import (
	"context"
	"time"

	"github.com/prowl-siem/prowl/internal/api"
	"github.com/prowl-siem/prowl/internal/lake"
)

// lakeAPI adapts *lake.Querier to api.Lake.
type lakeAPI struct{ q *lake.Querier }

func (a lakeAPI) Query(ctx context.Context, req api.LakeQuery) (*api.QueryResponse, error) {
	res, err := a.q.Run(ctx, lake.Request{SQL: req.SQL, Params: req.Params, Limit: req.Limit, Offset: req.Offset, Timeout: req.Timeout()})
	if err != nil {
		return nil, err
	}
	out := &api.QueryResponse{Rows: res.Rows, Truncated: res.Truncated, ElapsedMS: float64(res.Elapsed.Microseconds()) / 1000,
		Tables: res.Tables, FilesScanned: res.Files, BytesScanned: res.Bytes}
	for _, c := range res.Columns {
		out.Columns = append(out.Columns, api.QueryColumn{Name: c.Name, Type: c.Type})
	}
	return out, nil
}

func (a lakeAPI) Search(ctx context.Context, req api.LakeSearch) (*api.SearchResponse, error) {
	res, err := a.q.SearchWith(ctx, lake.SearchRequest{Indicator: req.Indicator, Kind: req.Kind, From: req.From, To: req.To, Limit: req.Limit})
	if err != nil {
		return nil, err
	}
	out := &api.SearchResponse{Indicator: res.Indicator, Kind: res.Kind, Values: res.Values, Columns: res.Columns, From: res.From, To: res.To,
		Total: res.Total, ElapsedMS: float64(res.Elapsed.Microseconds()) / 1000,
		Histogram: api.SearchHistogram{Start: res.Histogram.Start, BucketSeconds: int64(res.Histogram.Bucket / time.Second), Counts: res.Histogram.Counts}}
	for _, t := range res.Tables {
		out.Tables = append(out.Tables, api.SearchTable{Table: t.Table, Count: t.Count})
	}
	for _, r := range res.Rows {
		out.Rows = append(out.Rows, api.SearchRow{Table: r.Table, RowID: r.RowID, Time: r.Time, Row: r.Row})
	}
	return out, nil
}

func (a lakeAPI) Tables(ctx context.Context) ([]api.LakeTable, error) {
	tables, err := a.q.Tables(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.LakeTable, len(tables))
	for i, t := range tables {
		out[i] = api.LakeTable{Name: t.Name, Files: t.Files, Rows: t.Rows, Bytes: t.Bytes, Columns: []api.QueryColumn{}}
		for _, c := range t.Columns {
			out[i].Columns = append(out[i].Columns, api.QueryColumn{Name: c.Name, Type: c.Type})
		}
		if !t.Min.IsZero() {
			minT, maxT := t.Min, t.Max
			out[i].MinTime, out[i].MaxTime = &minT, &maxT
		}
	}
	return out, nil
}
