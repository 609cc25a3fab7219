package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hostaccess/hostaccess/pkg/freshness"
)

// Stats is one workload's outcome.
type Stats struct {
	Workload    string  `json:"workload"`
	Path        string  `json:"path"`
	Concurrency int     `json:"concurrency"`
	Count       int     `json:"count"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	// ChecksPerSecond counts questions, for page loads (50 or 51 a page).
	ChecksPerSecond float64 `json:"checks_per_second,omitempty"`
	P50ms           float64 `json:"p50_ms"`
	P90ms           float64 `json:"p90_ms"`
	P99ms           float64 `json:"p99_ms"`
	Note            string  `json:"note,omitempty"`
}

// Ratio compares the service path with the raw SpiceDB API on the same questions.
type Ratio struct {
	Workload string  `json:"workload"`
	Service  float64 `json:"service_per_second"`
	Raw      float64 `json:"raw_per_second"`
	// ServiceOverRaw is service throughput / raw throughput (1.0: no overhead).
	ServiceOverRaw float64 `json:"service_over_raw"`
}

// Report is a run's outcome.
type Report struct {
	Engine            string   `json:"datastore_engine"`
	Accounts          int      `json:"accounts"`
	Seed              uint64   `json:"seed"`
	Users             int      `json:"users"`
	Relationships     int      `json:"relationships"`
	Products          int      `json:"products"`
	LoadSeconds       float64  `json:"load_seconds"`
	LoadPerSecond     float64  `json:"load_relationships_per_second"`
	ImportCalls       int      `json:"import_calls"`
	DirectorySeconds  float64  `json:"directory_load_seconds"`
	AnalyzeSeconds    float64  `json:"analyze_seconds,omitempty"`
	Workloads         []Stats  `json:"workloads"`
	Ratios            []Ratio  `json:"ratios"`
	Verified          int      `json:"answers_verified"`
	Mismatches        int      `json:"mismatches"`
	MismatchSamples   []string `json:"mismatch_samples,omitempty"`
	Invariants        []string `json:"invariants,omitempty"`
	PeakRSSMiB        float64  `json:"peak_rss_mib"`
	PeakRSSPerMillion float64  `json:"peak_rss_mib_per_million_relationships"`
	CPUs              int      `json:"cpus"`
	GoVersion         string   `json:"go_version"`
	DurationPerLoad   string   `json:"duration_per_workload"`
	// LoadAvg is /proc/loadavg at the start and at the end of the run:
	// other processes on the machine skew every figure.
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
	// Consistency is the service's check consistency (tokens or full), and
	// Freshness the token tracker's counters at the end.
	Consistency string           `json:"consistency"`
	Freshness   *freshness.Stats `json:"freshness,omitempty"`
	// StaleAfterChanges counts answers, asked after a change returned,
	// that did not reflect it (page loads under changes): must be 0.
	StaleAfterChanges  int `json:"stale_answers_after_changes"`
	JudgedAfterChanges int `json:"answers_judged_after_changes"`
	// Cold is the cold comparison (--only cold, cold.go).
	Cold *ColdSummary `json:"cold,omitempty"`
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "hostaccess bench: %s datastore, %d accounts (seed %d), %d users, %d products, %d relationships\n",
		r.Engine, r.Accounts, r.Seed, r.Users, r.Products, r.Relationships)
	fmt.Fprintf(w, "load: %d relationships in %.2fs (%.0f relationships/s, %d bulk import calls); directory %.2fs\n",
		r.Relationships, r.LoadSeconds, r.LoadPerSecond, r.ImportCalls, r.DirectorySeconds)
	fmt.Fprintf(w, "each workload runs at most %s on %d CPUs (%s); load average at start %s, at end %s\n\n", r.DurationPerLoad, r.CPUs, r.GoVersion, r.LoadAvgStart, r.LoadAvgEnd)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tPATH\tCONC\tCOUNT\tERRORS\tPER_S\tCHECKS_PER_S\tP50_MS\tP90_MS\tP99_MS\tNOTE")
	for _, s := range r.Workloads {
		checks := "-"
		if s.ChecksPerSecond > 0 {
			checks = fmt.Sprintf("%.0f", s.ChecksPerSecond)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f\t%s\t%.2f\t%.2f\t%.2f\t%s\n", s.Workload, s.Path, s.Concurrency, s.Count, s.Errors, s.PerSecond, checks, s.P50ms, s.P90ms, s.P99ms, s.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SAME QUESTIONS\tSERVICE_PER_S\tRAW_PER_S\tSERVICE/RAW")
	for _, x := range r.Ratios {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.2f\n", x.Workload, x.Service, x.Raw, x.ServiceOverRaw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if r.Cold != nil {
		if err := r.Cold.write(w); err != nil {
			return err
		}
	}
	for _, inv := range r.Invariants {
		fmt.Fprintf(w, "invariant: %s\n", inv)
	}
	fmt.Fprintf(w, "verified: %d answers against the generated data, %d mismatches\n", r.Verified, r.Mismatches)
	if r.JudgedAfterChanges > 0 {
		fmt.Fprintf(w, "freshness: %d answers asked after a change judged, %d stale\n", r.JudgedAfterChanges, r.StaleAfterChanges)
	}
	if f := r.Freshness; f != nil {
		fmt.Fprintf(w, "consistency: %s (token hits %d, store reads %d, asked again after a store read %d, newest-revision reads %d, fully consistent %d)\n", r.Consistency, f.Hits, f.Loads, f.Reasks, f.Heads, f.Full)
	} else {
		fmt.Fprintf(w, "consistency: %s\n", r.Consistency)
	}
	if len(r.MismatchSamples) > 0 {
		fmt.Fprintf(w, "MISMATCHES:\n  %s\n", strings.Join(r.MismatchSamples, "\n  "))
	}
	_, err := fmt.Fprintf(w, "peak RSS (VmHWM): %.0f MiB, %.0f MiB per million relationships\n", r.PeakRSSMiB, r.PeakRSSPerMillion)
	return err
}
