package api

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/stretchr/testify/require"
)

// documentValidator checks answers against the served OpenAPI document
// with libopenapi-validator, an independent implementation of OpenAPI 3.1
// and JSON Schema: every answer a test receives through apiClient.call
// must be one the document allows, so the handlers and the document
// cannot drift apart.
var documentValidator = sync.OnceValues(func() (validator.Validator, error) {
	doc, err := libopenapi.NewDocument(OpenAPIDocument())
	if err != nil {
		return nil, err
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return v, nil
})

// requireDocumented fails the test when the answer to req is not what the
// document says that operation answers. Requests outside the document
// (unknown paths and methods, which the tests send on purpose) are left out.
func requireDocumented(t *testing.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	v, err := documentValidator()
	require.NoError(t, err, "the OpenAPI document does not load in libopenapi")
	if status == http.StatusOK && header.Get("Content-Type") == mediaJSONLines {
		// libopenapi reads a body as one JSON value; the export's lines
		// are decoded one by one, strictly, by its tests (exportLines).
		return
	}
	resp := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	ok, errs := v.ValidateHttpResponse(req, resp)
	if ok {
		return
	}
	var problems []string
	for _, e := range errs {
		if e.ValidationType == "path" || e.ValidationSubType == "missingOperation" {
			return // not a documented operation
		}
		msg := e.Message
		if e.Reason != "" {
			msg += ": " + e.Reason
		}
		for _, se := range e.SchemaValidationErrors {
			msg += "; " + se.FieldPath + ": " + se.Reason
		}
		problems = append(problems, msg)
	}
	require.Empty(t, problems, "%s %s answered %d, which the OpenAPI document does not allow; body: %s", req.Method, req.URL.Path, status, body)
}

// The validator itself must refuse what the document forbids, or the
// check above proves nothing.
func TestDocumentValidatorRefusesUndocumentedAnswers(t *testing.T) {
	v, err := documentValidator()
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, "http://x/v1/accounts/acme/members", nil)
	for name, tc := range map[string]struct {
		status int
		body   string
	}{
		"a field of the wrong type": {http.StatusOK, `{"members":"carol"}`},
		"a missing required field":  {http.StatusOK, `{}`},
		"an undocumented status":    {http.StatusTeapot, `{}`},
	} {
		t.Run(name, func(t *testing.T) {
			header := http.Header{"Content-Type": {"application/json"}}
			resp := &http.Response{StatusCode: tc.status, Header: header, Body: io.NopCloser(strings.NewReader(tc.body)), Request: req}
			ok, _ := v.ValidateHttpResponse(req, resp)
			require.False(t, ok)
		})
	}
}
