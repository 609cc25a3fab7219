// Package apiclient is a small client of the hostaccess HTTP/JSON API
// (docs/http-api.md): one method per route, the pkg/hostaccess types in and
// out, problem+json errors as *Problem.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/hostaccess/hostaccess/internal/wire"
)

// ActorService is the actor naming the calling service itself.
const ActorService = "service"

// maxResponse bounds how much of a response body is read.
const maxResponse = 16 << 20

// Client calls one hostaccess server with one API key, acting as one actor.
// It is safe for concurrent use.
type Client struct {
	baseURL string
	apiKey  string
	actor   string
	// MFA and ClientIP are the acting person's session conditions, sent
	// with every call that names the actor (docs/conditions.md).
	MFA      bool
	ClientIP string
	// HTTPClient sends the requests; http.DefaultClient when nil. Bound a
	// call's duration with its context.
	HTTPClient *http.Client
}

// New builds a client of the server at baseURL (http://localhost:8080),
// authenticating with apiKey and acting as actor: "user:<id>" for a person,
// "service" for the calling service itself.
func New(baseURL, apiKey string, actor string) *Client {
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), apiKey: apiKey, actor: actor}
}

// Problem is an error answered by the server (RFC 9457 problem+json).
type Problem = wire.Problem

// Code returns the stable problem code of err ("last_owner", ...), or "" when
// err is not a *Problem.
func Code(err error) string {
	var p *Problem
	if errors.As(err, &p) {
		return p.Code
	}
	return ""
}

// call describes one request.
type call struct {
	endpoint wire.Endpoint
	args     []string // the endpoint's path segments, in order
	query    url.Values
	body     any
	// noActor leaves out X-Hostaccess-Actor (accept and checks need none).
	noActor bool
	header  map[string]string // more request headers
	// accept is the media type asked for, when the answer is not JSON;
	// out is then a *[]byte receiving the body as is.
	accept string
}

// do sends c and decodes a 2xx JSON answer into out (nil: ignore the
// body; a *[]byte: the body as is).
func (cl *Client) do(ctx context.Context, c call, out any) error {
	accept := "application/json"
	if c.accept != "" {
		accept = c.accept
	}
	resp, err := cl.open(ctx, c, accept+", application/problem+json")
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("reading the answer of hostaccess at %s: %w", cl.baseURL, err)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("hostaccess at %s answered %s %s with unreadable JSON: %w", cl.baseURL, c.endpoint.Method, resp.Request.URL.Path, err)
	}
	return nil
}

// open sends c and returns a 2xx answer unread, for the caller to read and
// close (streamed answers); any other answer is returned as its *Problem.
func (cl *Client) open(ctx context.Context, c call, accept string) (*http.Response, error) {
	path := c.endpoint.Path(c.args...)
	target := cl.baseURL + path
	if len(c.query) > 0 {
		target += "?" + c.query.Encode()
	}
	var body io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, c.endpoint.Method, target, body)
	if err != nil {
		return nil, fmt.Errorf("building the request to %s: %w", cl.baseURL, err)
	}
	req.Header.Set("Accept", accept)
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+cl.apiKey)
	}
	if cl.actor != "" && !c.noActor {
		req.Header.Set("X-Hostaccess-Actor", cl.actor)
		if cl.MFA {
			req.Header.Set("X-Hostaccess-MFA", "true")
		}
		if cl.ClientIP != "" {
			req.Header.Set("X-Hostaccess-Client-IP", cl.ClientIP)
		}
	}
	httpClient := cl.HTTPClient
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("hostaccess at %s did not answer in time: %w", cl.baseURL, ctxErr)
		}
		return nil, fmt.Errorf("cannot reach hostaccess at %s: %w", cl.baseURL, unwrapURLError(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer func() { _ = resp.Body.Close() }()
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		if err != nil {
			return nil, fmt.Errorf("reading the answer of hostaccess at %s: %w", cl.baseURL, err)
		}
		return nil, decodeProblem(resp, data)
	}
	return resp, nil
}

// unwrapURLError drops the "Post \"URL\":" prefix *url.Error adds: the
// message already names the server.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// decodeProblem turns an error answer into a *Problem, also when it is not
// problem+json (a proxy's HTML page, a router's plain 404).
func decodeProblem(resp *http.Response, data []byte) error {
	p := &Problem{}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType == "application/problem+json" || mediaType == "application/json" {
		if err := json.Unmarshal(data, p); err != nil {
			p = &Problem{}
		}
	}
	// The status line wins over the body: it is what actually happened.
	p.Status = resp.StatusCode
	if p.Title == "" && p.Detail == "" {
		p.Title = http.StatusText(resp.StatusCode)
		if text := strings.TrimSpace(string(data)); text != "" && len(text) <= 200 && !strings.HasPrefix(text, "<") {
			p.Detail = text
		}
	}
	return p
}
