package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/authzed-go/v1"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	grpcstreams "github.com/hostaccess/hostaccess/internal/streams"
	"github.com/hostaccess/hostaccess/internal/tuples"
)

func newRelCommand(streams Streams, conn *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "rel",
		Aliases: []string{"relationship"},
		Short:   "Write, delete and read relationships (tuples)",
		Long: `Relationships are written as account:acme#owner@user:alice, optionally with
an expiration: product:site1#technician@user:dave[expiration:2026-12-31T00:00:00Z].
Pass them as arguments, or one per line on standard input with "-".
All the relationships of one command are written in ONE atomic write: either
all apply or none does.`,
	}
	cmd.AddCommand(
		newRelWriteCommand(streams, conn, "touch", v1.RelationshipUpdate_OPERATION_TOUCH, "Create relationships, or update them if present (idempotent)"),
		newRelWriteCommand(streams, conn, "create", v1.RelationshipUpdate_OPERATION_CREATE, "Create relationships; fails, writing nothing, if one already exists"),
		newRelWriteCommand(streams, conn, "delete", v1.RelationshipUpdate_OPERATION_DELETE, "Delete relationships, in one write; says which were absent"),
		newRelReadCommand(streams, conn),
	)
	return cmd
}

// readTupleArgs parses the relationship arguments, or standard input for "-".
func readTupleArgs(in io.Reader, args []string) ([]*v1.Relationship, error) {
	if len(args) == 1 && args[0] == "-" {
		rels, err := tuples.ReadLines(in)
		if err != nil {
			return nil, fmt.Errorf("standard input: %w", err)
		}
		if len(rels) == 0 {
			return nil, errors.New("standard input held no relationship")
		}
		return rels, nil
	}
	rels := make([]*v1.Relationship, 0, len(args))
	for _, arg := range args {
		rel, err := tuples.Parse(arg)
		if err != nil {
			return nil, err
		}
		rels = append(rels, rel)
	}
	return rels, nil
}

func newRelWriteCommand(streams Streams, conn *connFlags, name string, op v1.RelationshipUpdate_Operation, short string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   name + " TUPLE... | -",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rels, err := readTupleArgs(streams.In, args)
			if err != nil {
				return err
			}
			return conn.withClient(cmd, func(ctx context.Context, client *authzed.Client) error {
				if op == v1.RelationshipUpdate_OPERATION_DELETE {
					return deleteRelationships(ctx, streams.Out, conn.output, client, rels)
				}
				updates := make([]*v1.RelationshipUpdate, 0, len(rels))
				for _, rel := range rels {
					updates = append(updates, &v1.RelationshipUpdate{Operation: op, Relationship: rel})
				}
				resp, err := client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates})
				if err != nil {
					return err
				}
				token := resp.GetWrittenAt().GetToken()
				if conn.output == outputJSON {
					return printJSON(streams.Out, map[string]any{"operation": name, "relationships": len(rels), "written_at": token})
				}
				_, err = fmt.Fprintf(streams.Out, "%s: %d relationships (written at %s)\n", name, len(rels), token)
				return err
			})
		},
	}
	conn.register(cmd)
	return cmd
}

// deleteAttempts bounds the retries when a relationship found present is
// deleted by someone else before our write.
const deleteAttempts = 3

// deleteRelationships deletes those of rels that exist, in one write whose
// preconditions hold each of them present, and reports what it deleted and
// what was already absent: a plain delete of an absent relationship
// succeeds silently, so counting the request would overstate.
func deleteRelationships(ctx context.Context, w io.Writer, output string, client *authzed.Client, rels []*v1.Relationship) error {
	for attempt := 1; ; attempt++ {
		var present, absent []*v1.Relationship
		for _, rel := range rels {
			found, err := relationshipExists(ctx, client, rel)
			if err != nil {
				return err
			}
			if found {
				present = append(present, rel)
			} else {
				absent = append(absent, rel)
			}
		}
		token := ""
		if len(present) > 0 {
			req := &v1.WriteRelationshipsRequest{}
			for _, rel := range present {
				req.Updates = append(req.Updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: rel})
				req.OptionalPreconditions = append(req.OptionalPreconditions, &v1.Precondition{Operation: v1.Precondition_OPERATION_MUST_MATCH, Filter: tuples.ExactFilter(rel)})
			}
			resp, err := client.WriteRelationships(ctx, req)
			if status.Code(err) == codes.FailedPrecondition && attempt < deleteAttempts {
				continue // one went away meanwhile: look again
			}
			if err != nil {
				return err
			}
			token = resp.GetWrittenAt().GetToken()
		}
		return printDeleted(w, output, present, absent, token)
	}
}

func relationshipExists(ctx context.Context, client *authzed.Client, rel *v1.Relationship) (bool, error) {
	stream, err := client.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
		Consistency: fullyConsistent(), RelationshipFilter: tuples.ExactFilter(rel), OptionalLimit: 1,
	})
	if err != nil {
		return false, err
	}
	_, err = stream.Recv()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	return err == nil, err
}

func printDeleted(w io.Writer, output string, deleted, absent []*v1.Relationship, token string) error {
	if output == outputJSON {
		names := func(rels []*v1.Relationship) []string {
			out := make([]string, 0, len(rels))
			for _, r := range rels {
				out = append(out, tuples.String(r))
			}
			return out
		}
		out := map[string]any{"operation": "delete", "relationships": len(deleted), "deleted": names(deleted), "absent": names(absent)}
		if token != "" {
			out["written_at"] = token
		}
		return printJSON(w, out)
	}
	line := fmt.Sprintf("delete: %d relationships", len(deleted))
	if token != "" {
		line += " (written at " + token + ")"
	}
	if _, err := fmt.Fprintln(w, line); err != nil {
		return err
	}
	for _, r := range absent {
		if _, err := fmt.Fprintln(w, "  not present, nothing deleted: "+tuples.String(r)); err != nil {
			return err
		}
	}
	return nil
}

// relationshipJSON is the JSON form of a relationship in CLI output.
type relationshipJSON struct {
	Resource   string `json:"resource"`
	Relation   string `json:"relation"`
	Subject    string `json:"subject"`
	Expiration string `json:"expiration,omitempty"`
	Caveat     string `json:"caveat,omitempty"`
	Tuple      string `json:"tuple"`
}

func toRelationshipJSON(rel *v1.Relationship) relationshipJSON {
	out := relationshipJSON{
		Resource: tuples.ObjectString(rel.GetResource()),
		Relation: rel.GetRelation(),
		Subject:  tuples.SubjectString(rel.GetSubject()),
		Caveat:   rel.GetOptionalCaveat().GetCaveatName(),
		Tuple:    tuples.String(rel),
	}
	if exp := rel.GetOptionalExpiresAt(); exp != nil {
		out.Expiration = exp.AsTime().UTC().Format("2006-01-02T15:04:05Z")
	}
	return out
}

func newRelReadCommand(streams Streams, conn *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "read FILTER",
		Short: "List relationships matching TYPE[:ID][#RELATION][@SUBJECT_TYPE[:ID][#RELATION]]",
		Example: `  hostaccess rel read account:acme
  hostaccess rel read account:acme#owner
  hostaccess rel read product@user:dave`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			filter, err := tuples.ParseFilter(args[0])
			if err != nil {
				return err
			}
			return conn.withClient(cmd, func(ctx context.Context, client *authzed.Client) error {
				stream, err := client.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
					RelationshipFilter: filter,
					Consistency:        fullyConsistent(),
				})
				if err != nil {
					return err
				}
				var rels []relationshipJSON
				if err := grpcstreams.Each(stream, func(resp *v1.ReadRelationshipsResponse) {
					rels = append(rels, toRelationshipJSON(resp.GetRelationship()))
				}); err != nil {
					return err
				}
				if conn.output == outputJSON {
					if rels == nil {
						rels = []relationshipJSON{}
					}
					return printJSON(streams.Out, rels)
				}
				rows := make([][]string, 0, len(rels))
				for _, r := range rels {
					rows = append(rows, []string{r.Resource, r.Relation, r.Subject, dash(r.Expiration)})
				}
				return printTable(streams.Out, []string{"RESOURCE", "RELATION", "SUBJECT", "EXPIRES"}, rows)
			})
		},
	}
	conn.register(cmd)
	return cmd
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// fullyConsistent is what an admin or auditor asking from the CLI expects:
// the answer as of now, never from a stale snapshot.
func fullyConsistent() *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
}
