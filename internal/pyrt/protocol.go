package pyrt

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// ProtocolVersion is the version of the Go<->Python framing and messages.
// The worker announces its version in its first frame; a mismatch is fatal.
const ProtocolVersion = 1

// maxFrame bounds one reply; a larger length means a corrupted stream.
const maxFrame = 1 << 30

// writeFrame sends one message: a 4-byte little-endian length, then JSON.
func writeFrame(w io.Writer, msg any) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encoding worker request: %w", err)
	}
	var head [4]byte
	binary.LittleEndian.PutUint32(head[:], uint32(len(body)))
	if _, err := w.Write(append(head[:], body...)); err != nil {
		return fmt.Errorf("writing to worker: %w", err)
	}
	return nil
}

// readFrame reads one message into v.
func readFrame(r *bufio.Reader, v any) error {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return fmt.Errorf("reading from worker: %w", err)
	}
	size := binary.LittleEndian.Uint32(head[:])
	if size > maxFrame {
		return fmt.Errorf("reading from worker: frame of %d bytes exceeds the limit", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return fmt.Errorf("reading from worker: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decoding worker reply: %w", err)
	}
	return nil
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
}

type runRequest struct {
	Op    string `json:"op"`
	Mode  Mode   `json:"mode"`
	Items []Item `json:"items"`
}

type runReply struct {
	Op      string     `json:"op"`
	Message string     `json:"message"`
	Items   [][]Result `json:"items"`
}
