package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

// decode reads the request body as exactly one JSON value into dst,
// refusing unknown fields, wrong types, trailing data and bodies over 1 MiB
// with an invalid_argument naming the problem.
func decode(r *http.Request, dst any) error {
	dec := json.NewDecoder(r.Body) // bounded by maxBodyBytes in wrap
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return decodeError(err)
		}
		return invalidArgument("request body: unexpected data after the JSON object")
	}
	return nil
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
