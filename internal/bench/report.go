package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

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
