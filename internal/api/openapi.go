package api

import (
	_ "embed"
	"encoding/json"
	"net/http"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// openAPIDocument describes every route; the conformance test holds it to
// the route table.
//
//go:embed openapi.json
var openAPIDocument []byte

func (s *server) openAPI(*http.Request, hostaccess.Actor) (int, any, error) {
	return http.StatusOK, json.RawMessage(openAPIDocument), nil
}
