package pyrt

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	gojson "github.com/goccy/go-json"
)

// ProtocolVersion is the version of the Go<->Python framing and messages.
// The worker announces its version in its first frame; a mismatch is fatal.
const ProtocolVersion = 1

// maxFrame bounds one reply; a larger length means a corrupted stream.
const maxFrame = 1 << 30

// encodeFrame encodes one request: a 4-byte little-endian length, then JSON.
func encodeFrame(msg any) ([]byte, error) {
	body, ok := msg.(rawFrame)
	if !ok {
		var err error
		if body, err = json.Marshal(msg); err != nil {
			return nil, fmt.Errorf("encoding worker request: %w", err)
		}
	}
	frame := make([]byte, 4, 4+len(body))
	binary.LittleEndian.PutUint32(frame, uint32(len(body)))
	return append(frame, body...), nil
}

// readFrame reads one reply into v and returns the blobs that follow its
// JSON (the reply refers to them as [offset, length]). Replies are decoded
// with goccy/go-json, several times faster than encoding/json at a batch's
// results (and already linked in, by the lake's Arrow dependency).
func readFrame(r *bufio.Reader, v any) ([]byte, error) {
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("reading from worker: %w", err)
	}
	size := binary.LittleEndian.Uint32(head[:4])
	jsonLen := binary.LittleEndian.Uint32(head[4:])
	if size > maxFrame || size < 4 || jsonLen > size-4 {
		return nil, fmt.Errorf("reading from worker: corrupt frame header (%d, %d)", size, jsonLen)
	}
	body := make([]byte, size-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("reading from worker: %w", err)
	}
	if err := gojson.Unmarshal(body[:jsonLen], v); err != nil {
		return nil, fmt.Errorf("decoding worker reply: %w", err)
	}
	return body[jsonLen:], nil
}

type helloMsg struct {
	Op       string `json:"op"`
	Protocol int    `json:"protocol"`
	Python   string `json:"python"`
}

type loadRequest struct {
	Op                    string          `json:"op"`
	RuleTimeout           float64         `json:"rule_timeout"`
	AvailableDestinations []string        `json:"available_destinations"`
	Globals               []globalSpec    `json:"globals"`
	DataModels            []dataModelSpec `json:"data_models"`
	Detections            []detectionSpec `json:"detections"`
	Skip                  []int           `json:"skip,omitempty"`
	// Prefilters asks the worker to analyse each rule for a static
	// prefilter (prowl_prefilter.py) and return them in the reply.
	Prefilters bool `json:"prefilters,omitempty"`
}

type globalSpec struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}

type dataModelSpec struct {
	ID       string        `json:"id"`
	LogTypes []string      `json:"log_types"`
	Path     string        `json:"path,omitempty"`
	Mappings []mappingSpec `json:"mappings"`
}

type mappingSpec struct {
	Name   string `json:"name"`
	Path   string `json:"path,omitempty"`
	Method string `json:"method,omitempty"`
}

type detectionSpec struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Path        string `json:"path"`
	Severity    string `json:"severity"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
	Reference   string `json:"reference,omitempty"`
	Runbook     string `json:"runbook,omitempty"`
}

type loadReply struct {
	Op      string              `json:"op"`
	Message string              `json:"message"`
	Errors  map[string]*PyError `json:"errors"`
	// Prefilters maps detection indexes (decimal strings) to conditions.
	Prefilters map[string]json.RawMessage `json:"prefilters"`
}

// appendRunRequest encodes a run request by hand: events are already JSON
// objects (normalized events or test logs), so they are copied, not
// re-validated as json.Marshal would.
func appendRunRequest(buf []byte, mode Mode, items []Item) ([]byte, error) {
	buf = append(buf, `{"op":"run","mode":"`...)
	buf = append(buf, mode...)
	buf = append(buf, `","items":[`...)
	for i, it := range items {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"event":`...)
		buf = append(buf, it.Event...)
		if it.LogType != "" {
			buf = append(buf, `,"log_type":`...)
			buf = strconv.AppendQuote(buf, it.LogType)
		}
		buf = append(buf, `,"rules":[`...)
		for j, r := range it.Rules {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, int64(r), 10)
		}
		buf = append(buf, ']')
		if len(it.Mocks) > 0 {
			mocks, err := json.Marshal(it.Mocks)
			if err != nil {
				return nil, fmt.Errorf("encoding mocks: %w", err)
			}
			buf = append(buf, `,"mocks":`...)
			buf = append(buf, mocks...)
		}
		buf = append(buf, '}')
	}
	return append(buf, "]}"...), nil
}

// rawFrame is a request already encoded as JSON.
type rawFrame []byte

// runReply is the worker's answer to a run request as it is sent: each
// match's alert context is a reference into the reply's blobs.
type runReply struct {
	Op      string         `json:"op"`
	Message string         `json:"message"`
	Items   [][]wireResult `json:"items"`
}

// wireResult is a Result as the worker sends it.
type wireResult struct {
	plainResult
	Outputs *wireOutputs `json:"outputs"`
}

// wireOutputs are Outputs as the worker sends them: the alert context is
// [offset, length] in the reply's blobs.
type wireOutputs struct {
	plainOutputs
	Blob *[2]int `json:"alert_context_blob"`
}

// plainResult and plainOutputs have the fields of Result and Outputs, so
// that the wire forms can embed them.
type (
	plainResult  Result
	plainOutputs Outputs
)

// results returns the reply's results, each match's alert context pointing
// at its bytes in blobs.
func (r *runReply) results(blobs []byte) ([][]Result, error) {
	out := make([][]Result, len(r.Items))
	for i, wire := range r.Items {
		results := make([]Result, len(wire))
		for j, w := range wire {
			results[j] = Result(w.plainResult)
			if w.Outputs == nil {
				continue
			}
			o := (*Outputs)(&w.Outputs.plainOutputs)
			if b := w.Outputs.Blob; b != nil {
				off, n := b[0], b[1]
				if off < 0 || n < 0 || off+n > len(blobs) {
					return nil, fmt.Errorf("worker reply refers to bytes %d..%d of %d", off, off+n, len(blobs))
				}
				o.AlertContext = json.RawMessage(blobs[off : off+n : off+n])
			}
			results[j].Outputs = o
		}
		out[i] = results
	}
	return out, nil
}
