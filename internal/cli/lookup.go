package cli

import (
	"context"
	"sort"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/authzed-go/v1"
	"github.com/spf13/cobra"

	grpcstreams "github.com/hostaccess/hostaccess/internal/streams"
	"github.com/hostaccess/hostaccess/internal/tuples"
)

func newLookupResourcesCommand(streams Streams, conn *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "lookup-resources TYPE PERMISSION SUBJECT",
		Short:   "List the TYPE objects on which SUBJECT has PERMISSION",
		Example: `  hostaccess lookup-resources product manage user:agency`,
		Args:    cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			subject, err := tuples.ParseSubject(args[2])
			if err != nil {
				return err
			}
			return conn.withClient(cmd, func(ctx context.Context, client *authzed.Client) error {
				stream, err := client.LookupResources(ctx, &v1.LookupResourcesRequest{
					ResourceObjectType: args[0],
					Permission:         args[1],
					Subject:            subject,
					Consistency:        fullyConsistent(),
				})
				if err != nil {
					return err
				}
				var ids []string
				if err := grpcstreams.Each(stream, func(resp *v1.LookupResourcesResponse) {
					ids = append(ids, args[0]+":"+resp.GetResourceObjectId())
				}); err != nil {
					return err
				}
				return printObjects(streams, conn.output, "RESOURCE", ids)
			})
		},
	}
	conn.register(cmd)
	return cmd
}

func newLookupSubjectsCommand(streams Streams, conn *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "lookup-subjects RESOURCE PERMISSION SUBJECT_TYPE[#RELATION]",
		Short:   "List the subjects of SUBJECT_TYPE that have PERMISSION on RESOURCE",
		Example: `  hostaccess lookup-subjects product:acme/site manage user`,
		Args:    cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			resource, err := tuples.ParseObject(args[0])
			if err != nil {
				return err
			}
			subjectType, subjectRel := splitRelation(args[2])
			return conn.withClient(cmd, func(ctx context.Context, client *authzed.Client) error {
				stream, err := client.LookupSubjects(ctx, &v1.LookupSubjectsRequest{
					Resource:                resource,
					Permission:              args[1],
					SubjectObjectType:       subjectType,
					OptionalSubjectRelation: subjectRel,
					Consistency:             fullyConsistent(),
				})
				if err != nil {
					return err
				}
				var ids []string
				if err := grpcstreams.Each(stream, func(resp *v1.LookupSubjectsResponse) {
					ids = append(ids, subjectType+":"+resp.GetSubject().GetSubjectObjectId())
				}); err != nil {
					return err
				}
				return printObjects(streams, conn.output, "SUBJECT", ids)
			})
		},
	}
	conn.register(cmd)
	return cmd
}

func splitRelation(s string) (string, string) {
	for i := range len(s) {
		if s[i] == '#' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func printObjects(streams Streams, output, header string, ids []string) error {
	sort.Strings(ids)
	if output == outputJSON {
		if ids == nil {
			ids = []string{}
		}
		return printJSON(streams.Out, ids)
	}
	rows := make([][]string, 0, len(ids))
	for _, id := range ids {
		rows = append(rows, []string{id})
	}
	return printTable(streams.Out, []string{header}, rows)
}
