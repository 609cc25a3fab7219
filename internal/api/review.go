package api

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/csv"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// The formats of GET .../review, chosen with ?format= (a link an auditor
// opens in a browser names it; no Accept negotiation).
const (
	reviewJSON = "json"
	reviewCSV  = "csv"
	reviewHTML = "html"
)

// reviewMediaTypes are the media types of the review's other formats.
var reviewMediaTypes = map[string]string{
	reviewCSV:  "text/csv; charset=utf-8",
	reviewHTML: "text/html; charset=utf-8",
}

// document is an answer that is not JSON: its media type and bytes.
type document struct {
	contentType string
	filename    string // offered to save it under (Content-Disposition); "" to show it
	body        []byte
}

func (s *server) accessReview(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	q := r.URL.Query()
	format := reviewJSON
	if q.Has("format") {
		format = q.Get("format")
	}
	if format != reviewJSON && format != reviewCSV && format != reviewHTML {
		return 0, nil, invalidArgument("query parameter format=%q: want json, csv or html", format)
	}
	var f hostaccess.ReviewFilter
	expiring, err := queryInt(r, "expiring_within_days", 1, int64(hostaccess.MaxExpiringDays))
	if err != nil {
		return 0, nil, err
	}
	granted, err := queryInt(r, "granted_before_days", 1, hostaccess.MaxGrantedBeforeDays)
	if err != nil {
		return 0, nil, err
	}
	f.ExpiringWithinDays, f.GrantedBeforeDays = int(expiring), int(granted)
	if q.Has("delegation") {
		if f.Delegation, err = strconv.ParseBool(q.Get("delegation")); err != nil {
			return 0, nil, invalidArgument("query parameter delegation=%q: want true or false", q.Get("delegation"))
		}
	}
	review, err := s.svc.AccessReview(r.Context(), actor, r.PathValue("account"), f)
	if err != nil {
		return 0, nil, err
	}
	switch format {
	case reviewCSV:
		body, err := reviewCSVOf(review)
		name := "access-review-" + review.AccountID + "-" + review.GeneratedAt.Format("20060102T150405Z") + ".csv"
		return reply(http.StatusOK, document{contentType: reviewMediaTypes[reviewCSV], filename: name, body: body}, err)
	case reviewHTML:
		body, err := reviewHTMLOf(review)
		return reply(http.StatusOK, document{contentType: reviewMediaTypes[reviewHTML], body: body}, err)
	}
	return http.StatusOK, review, nil
}

// reviewColumns are the CSV's header row.
var reviewColumns = []string{"account", "user_id", "email", "display_name", "role", "right", "scope", "held", "through", "granted_by", "granted_at", "ends", "networks", "needs_mfa"}

// reviewCSVOf is the review as CSV: a header row, then one row per line.
func reviewCSVOf(rv hostaccess.AccessReview) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(reviewColumns); err != nil {
		return nil, err
	}
	for _, l := range rv.Lines {
		row := []string{rv.AccountID, l.UserID, l.Email, l.DisplayName, l.Role, l.Right, l.Scope, l.Held, l.Through, l.GrantedBy, stamp(l.GrantedAt), stamp(l.Ends), strings.Join(l.Networks, " "), strconv.FormatBool(l.NeedsMFA)}
		for i := range row {
			row[i] = inertCell(row[i])
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// inertCell keeps a spreadsheet from reading a cell as a formula: a name or
// an id may start with = + - or @ (ids allow = + -), and a review is opened
// in one. The quote shows; nothing runs.
func inertCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func stamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

//go:embed review.html
var reviewPage string

var reviewTemplate = template.Must(template.New("review").Funcs(template.FuncMap{
	"stamp": func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"when":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"orDash": func(s string) string { return cmp.Or(s, "-") },
}).Parse(reviewPage))

// reviewHTMLOf is the review as a self-contained page, printable as the
// review's record. html/template escapes every value.
func reviewHTMLOf(rv hostaccess.AccessReview) ([]byte, error) {
	var buf bytes.Buffer
	err := reviewTemplate.Execute(&buf, struct {
		hostaccess.AccessReview
		FilterText string
	}{rv, rv.Filter.Describe()})
	return buf.Bytes(), err
}
