package relfile

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// The directory travels under the key `directory:` of a relationship file,
// which SpiceDB's tools ignore, so a full backup still loads in zed and the
// Playground. It is written as the JSON form of directory.Snapshot, laid out
// as YAML.

// snapshotToYAML turns a snapshot into plain values yaml can lay out.
func snapshotToYAML(s *directory.Snapshot) (any, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return plainNumbers(v), nil
}

// plainNumbers turns json.Number into int64 (or float64), which yaml
// writes as numbers.
func plainNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = plainNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = plainNumbers(x)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

// snapshotFromYAML reads back what snapshotToYAML wrote.
func snapshotFromYAML(v any) (*directory.Snapshot, error) {
	raw, err := json.Marshal(stringKeys(v))
	if err != nil {
		return nil, fmt.Errorf("directory section: %w", err)
	}
	var s directory.Snapshot
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("directory section: %w", err)
	}
	// An absent JSON value was written as null; read it back as absent.
	for i := range s.Audit {
		s.Audit[i].Before = nullAsAbsent(s.Audit[i].Before)
		s.Audit[i].After = nullAsAbsent(s.Audit[i].After)
		s.Audit[i].Recovery = nullAsAbsent(s.Audit[i].Recovery)
	}
	for i := range s.Invitations {
		s.Invitations[i].Access = nullAsAbsent(s.Invitations[i].Access)
	}
	return &s, nil
}

func nullAsAbsent(m json.RawMessage) json.RawMessage {
	if string(bytes.TrimSpace(m)) == "null" {
		return nil
	}
	return m
}

// stringKeys converts yaml's map[any]any (older decoders) to map[string]any.
func stringKeys(v any) any {
	switch t := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = stringKeys(x)
		}
		return m
	case map[string]any:
		for k, x := range t {
			t[k] = stringKeys(x)
		}
	case []any:
		for i, x := range t {
			t[i] = stringKeys(x)
		}
	}
	return v
}
