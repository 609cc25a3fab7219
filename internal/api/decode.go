package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

// decode reads the request body as exactly one JSON object into dst. It
// refuses, with an invalid_argument naming the problem: a body that is not
// application/json (unsupported_media_type), a body that is not an object
// (null included), duplicate keys, keys that are not exactly a declared
// field name (encoding/json would match them case-insensitively, and the
// last duplicate would win), null where the field has no "absent" value,
// unknown fields, wrong types, trailing data and bodies over 1 MiB.
func decode(r *http.Request, dst any) error {
	raw, err := io.ReadAll(r.Body) // bounded by maxBodyBytes in wrap
	if err != nil {
		return decodeError(err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return decodeError(io.EOF)
	}
	if err := jsonContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	if err := checkKeys(raw, reflect.TypeOf(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	return nil
}

// jsonContentType accepts application/json, optionally with charset=utf-8:
// the only encoding of JSON (RFC 8259).
func jsonContentType(header string) error {
	if header == "" {
		return unsupportedMediaType("Content-Type is missing: send the body as application/json")
	}
	mediaType, params, err := mime.ParseMediaType(header)
	if err != nil || mediaType != "application/json" {
		return unsupportedMediaType("Content-Type %q: send the body as application/json", header)
	}
	for name, value := range params {
		if name != "charset" || !strings.EqualFold(value, "utf-8") {
			return unsupportedMediaType("Content-Type %q: only charset=utf-8 may follow application/json", header)
		}
	}
	return nil
}

// checkKeys walks raw, which must be exactly one JSON object, along the Go
// type it decodes into, and refuses what encoding/json lets through.
func checkKeys(raw []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return decodeError(err)
	}
	if tok != json.Delim('{') {
		return invalidArgument("request body: want a JSON object, got %s", tokenKind(tok))
	}
	if err := (&walker{dec: dec, raw: raw}).object(deref(t), ""); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return decodeError(err)
		}
		return invalidArgument("request body: unexpected data after the JSON object")
	}
	return nil
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

// parseTime parses a time as time.Time's UnmarshalJSON does (which is
// stricter still: what passes here and fails there is refused by decode).
func parseTime(s string) error {
	_, err := time.Parse(time.RFC3339, s)
	return err
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// object reads an object's members after its '{'. t is the Go type it
// decodes into (nil: anything, skipped).
func (w *walker) object(t reflect.Type, at string) error {
	dec := w.dec
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(unmarshalerType) {
		fields = jsonFieldTypes(t)
	}
	seen := map[string]bool{}
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return truncated(err)
		}
		key, _ := tok.(string)
		field := at + key
		if !utf8.Valid(w.since(start)) {
			return invalidArgument("request body: a field name after %q is not valid UTF-8", strings.TrimSuffix(at, "."))
		}
		if seen[key] {
			return invalidArgument("request body: field %q appears twice", field)
		}
		seen[key] = true
		var ft reflect.Type
		if fields != nil {
			var ok bool
			if ft, ok = fields[key]; !ok {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return invalidArgument("request body: field %q: field names are case-sensitive, want %q", field, at+name)
					}
				}
				return invalidArgument("request body: unknown field %q", field)
			}
		} else if t != nil && t.Kind() == reflect.Map {
			ft = t.Elem()
		}
		if err := w.value(ft, field); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return truncatedOrNil(err)
}

// value reads one value decoding into t (nil: anything).
func (w *walker) value(t reflect.Type, field string) error {
	dec := w.dec
	start := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return truncated(err)
	}
	if _, isString := tok.(string); isString && !utf8.Valid(w.since(start)) {
		// encoding/json would quietly replace the bad bytes with U+FFFD.
		return invalidArgument("request body: field %q is not valid UTF-8", field)
	}
	if tok == nil {
		// null means "absent" only where Go has a nil; elsewhere encoding/json
		// would silently keep the zero value (an empty access, "", false).
		if t != nil && !nilable(t) {
			return invalidArgument("request body: field %q: null is not %s (leave the field out instead)", field, jsonKind(t))
		}
		return nil
	}
	inner := deref(t)
	if inner == timeType {
		// time.Time's own error names neither the field nor the format.
		if s, isString := tok.(string); !isString || parseTime(s) != nil {
			return invalidArgument("request body: field %q: want an RFC 3339 time, e.g. 2026-12-31T00:00:00Z", field)
		}
		return nil
	}
	switch tok {
	case json.Delim('{'):
		return w.object(inner, field+".")
	case json.Delim('['):
		var elem reflect.Type
		if inner != nil && (inner.Kind() == reflect.Slice || inner.Kind() == reflect.Array) {
			elem = inner.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := w.value(elem, field+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return truncatedOrNil(err)
	}
	return nil
}

// walker reads a body's tokens, keeping the body to check their bytes.
type walker struct {
	dec *json.Decoder
	raw []byte
}

// since is the input from start to the decoder's position: the last token
// read, with the separators before it.
func (w *walker) since(start int64) []byte { return w.raw[start:w.dec.InputOffset()] }

func nilable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return false
}

// jsonFieldTypes maps the JSON names encoding/json uses for a struct's
// fields (embedded structs flattened) to their types.
func jsonFieldTypes(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "" && deref(f.Type).Kind() == reflect.Struct:
			for k, v := range jsonFieldTypes(deref(f.Type)) {
				out[k] = v
			}
		case !f.IsExported():
		case name == "":
			out[f.Name] = f.Type
		default:
			out[name] = f.Type
		}
	}
	return out
}

func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// truncated maps a token error inside the object: an end of input there
// is a truncated body, not an empty one.
func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return decodeError(err)
}

func truncatedOrNil(err error) error {
	if err == nil {
		return nil
	}
	return truncated(err)
}

func decodeError(err error) error {
	var (
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
	)
	switch {
	case errors.Is(err, io.EOF):
		return invalidArgument("request body is empty: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidArgument("request body: malformed JSON (unexpected end)")
	case errors.As(err, &tooLarge):
		return invalidArgument("request body is larger than %d bytes", maxBodyBytes)
	case errors.As(err, &syntax):
		return invalidArgument("request body: malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &wrongType):
		field := wrongType.Field
		if field == "" {
			return invalidArgument("request body: want %s, got %s", jsonKind(wrongType.Type), wrongType.Value)
		}
		return invalidArgument("request body: field %q: want %s, got %s", field, jsonKind(wrongType.Type), wrongType.Value)
	default: // unknown fields among others: encoding/json has no typed error for them
		return invalidArgument("request body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return t.String()
	}
}

// queryInt reads an optional integer query parameter within [lo, hi].
func queryInt(r *http.Request, name string, lo, hi int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, invalidArgument("query parameter %s=%q: want an integer from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

// required refuses an empty required field.
func required(name, value string) error {
	if strings.TrimSpace(value) == "" {
		return invalidArgument("%s is required", name)
	}
	return nil
}
