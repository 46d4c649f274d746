package analysis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file converts yaml.v3 nodes to Go values and JSON text, and holds the
// decoder that reads spec mappings key by key, recording problems with lines.

// maxNodes bounds how many nodes one conversion may visit, so that recursive
// or exponentially nested aliases cannot hang the loader.
const maxNodes = 1 << 20

var errTooLarge = errors.New("value is too large or contains a recursive alias")

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// pair is one key/value entry of a mapping node.
type pair struct{ key, value *yaml.Node }

// pairs returns the entries of a mapping node in document order, with YAML
// merge keys (<<) expanded; explicitly written keys win over merged ones.
func pairs(n *yaml.Node) []pair {
	return pairsDepth(n, 0)
}

func pairsDepth(n *yaml.Node, depth int) []pair {
	var explicit, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag != "!!merge" {
			explicit = append(explicit, pair{k, v})
			continue
		}
		if depth > 20 {
			continue
		}
		switch v = resolve(v); v.Kind {
		case yaml.MappingNode:
			merged = append(merged, pairsDepth(v, depth+1)...)
		case yaml.SequenceNode:
			for _, e := range v.Content {
				if e = resolve(e); e.Kind == yaml.MappingNode {
					merged = append(merged, pairsDepth(e, depth+1)...)
				}
			}
		}
	}
	if len(merged) == 0 {
		return explicit
	}
	seen := make(map[string]bool, len(explicit))
	for _, p := range explicit {
		seen[keyString(p.key)] = true
	}
	out := explicit
	for _, p := range merged {
		if k := keyString(p.key); !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

// keyString is the string form of a mapping key: the text of a string key,
// the JSON literal of a null, boolean or number key.
func keyString(k *yaml.Node) string {
	k = resolve(k)
	if k == nil || k.Kind != yaml.ScalarNode {
		return ""
	}
	switch k.Tag {
	case "!!null", "!!bool", "!!int", "!!float":
		var b bytes.Buffer
		if err := scalarJSON(&b, k); err == nil {
			return b.String()
		}
	}
	return k.Value
}

// isString reports whether n is a string scalar (custom-tagged scalars count
// as strings).
func isString(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || !strings.HasPrefix(n.Tag, "!!"))
}

// describe names the YAML type of n for messages, with the value of scalars:
// `string "yes"`, `integer 3`, `null`, `mapping`, `list`.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "mapping"
	case n.Kind == yaml.SequenceNode:
		return "list"
	case n.Tag == "!!null":
		return "null"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch n.Tag {
	case "!!bool":
		return "boolean " + v
	case "!!int":
		return "integer " + v
	case "!!float":
		return "number " + v
	case "!!timestamp":
		return "timestamp " + v
	}
	return fmt.Sprintf("string %q", v)
}

// toValue converts a node to a Go value: map[string]any, []any, string, bool,
// int (int64 or uint64 when out of range), float64 or nil. Timestamps and
// custom-tagged scalars stay strings.
func toValue(n *yaml.Node) (any, error) {
	budget := maxNodes
	return toValueBudget(n, &budget)
}

func toValueBudget(n *yaml.Node, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, errTooLarge
	}
	n = resolve(n)
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return toValueBudget(n.Content[0], budget)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for _, p := range pairs(n) {
			v, err := toValueBudget(p.value, budget)
			if err != nil {
				return nil, err
			}
			m[keyString(p.key)] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := toValueBudget(e, budget)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return nil, err
			}
			return v, nil
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("unsupported YAML node kind %v", n.Kind)
}

// toJSON converts a node to JSON text, keeping mapping keys in document
// order. Floats keep a decimal point (1.0 stays 1.0, not 1) so that Python
// sees the same types it would reading the YAML; timestamps become strings.
func toJSON(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	budget := maxNodes
	if err := writeJSON(&b, n, &budget); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, n *yaml.Node, budget *int) error {
	if *budget--; *budget < 0 {
		return errTooLarge
	}
	n = resolve(n)
	if n == nil {
		b.WriteString("null")
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			b.WriteString("null")
			return nil
		}
		return writeJSON(b, n.Content[0], budget)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i, p := range pairs(n) {
			if i > 0 {
				b.WriteByte(',')
			}
			k := resolve(p.key)
			if k == nil || k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: mapping key is a %s; only scalar keys can be converted to JSON", p.key.Line, describe(k))
			}
			writeJSONString(b, keyString(k))
			b.WriteByte(':')
			if err := writeJSON(b, p.value, budget); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e, budget); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		return scalarJSON(b, n)
	default:
		return fmt.Errorf("unsupported YAML node kind %v", n.Kind)
	}
	return nil
}

// scalarJSON writes the JSON form of a scalar node.
func scalarJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Tag {
	case "!!null":
		b.WriteString("null")
		return nil
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return err
		}
		b.WriteString(strconv.FormatBool(v))
		return nil
	case "!!int":
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		switch v := v.(type) {
		case int:
			b.WriteString(strconv.Itoa(v))
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		case uint64:
			b.WriteString(strconv.FormatUint(v, 10))
		case float64:
			return writeFloat(b, v, n)
		default:
			return fmt.Errorf("line %d: cannot convert integer %s to JSON", n.Line, n.Value)
		}
		return nil
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			return err
		}
		return writeFloat(b, v, n)
	}
	writeJSONString(b, n.Value)
	return nil
}

func writeFloat(b *bytes.Buffer, v float64, n *yaml.Node) error {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return fmt.Errorf("line %d: %s cannot be represented in JSON", n.Line, n.Value)
	}
	s, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.Write(s)
	if !bytes.ContainsAny(s, ".eE") {
		b.WriteString(".0")
	}
	return nil
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

// duplicateKeys reports every key written twice in the same mapping, walking
// the whole document (aliases are not followed: anchored nodes are checked
// where they are written).
func duplicateKeys(n *yaml.Node, report func(key *yaml.Node, first int)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.MappingNode {
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				continue
			}
			ks := keyString(k)
			if first, ok := seen[ks]; ok {
				report(k, first)
			} else {
				seen[ks] = k.Line
			}
		}
	}
	for _, c := range n.Content {
		duplicateKeys(c, report)
	}
}
