package engine

import (
	"fmt"
	"sort"
	"strings"

	caveattypes "github.com/authzed/spicedb/pkg/caveats/types"
	"github.com/authzed/spicedb/pkg/diff"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
)

// compileSchema compiles schema text, naming source in errors.
func compileSchema(source, text string) (*compiler.CompiledSchema, error) {
	return compiler.Compile(compiler.InputSchema{
		Source:       input.Source(source),
		SchemaString: text,
	}, compiler.AllowUnprefixedObjectType())
}

// DiffSchemas lists, one line per change, how updated differs from existing
// ("account: added-permission view_security"). Comment changes are left out:
// SpiceDB re-renders the comments it stores, so a stored schema never matches
// its source comment for comment, and comments change no answer.
func DiffSchemas(existing, updated string) ([]string, error) {
	oldCompiled, err := compileSchema("stored schema", existing)
	if err != nil {
		return nil, fmt.Errorf("compiling the stored schema: %w", err)
	}
	newCompiled, err := compileSchema("new schema", updated)
	if err != nil {
		return nil, err
	}
	d, err := diff.DiffSchemas(
		diff.NewDiffableSchemaFromCompiledSchema(oldCompiled),
		diff.NewDiffableSchemaFromCompiledSchema(newCompiled),
		caveattypes.Default.TypeSet,
	)
	if err != nil {
		return nil, err
	}

	var lines []string
	for _, ns := range d.AddedNamespaces {
		lines = append(lines, "added definition "+ns)
	}
	for _, ns := range d.RemovedNamespaces {
		lines = append(lines, "removed definition "+ns)
	}
	for _, c := range d.AddedCaveats {
		lines = append(lines, "added caveat "+c)
	}
	for _, c := range d.RemovedCaveats {
		lines = append(lines, "removed caveat "+c)
	}
	for ns, nsDiff := range d.ChangedNamespaces {
		for _, delta := range nsDiff.Deltas() {
			if strings.Contains(string(delta.Type), "comment") {
				continue
			}
			line := fmt.Sprintf("%s: %s", ns, delta.Type)
			if delta.RelationName != "" {
				line += " " + delta.RelationName
			}
			if delta.AllowedType != nil {
				line += " " + delta.AllowedType.GetNamespace()
			}
			lines = append(lines, line)
		}
	}
	for c, cDiff := range d.ChangedCaveats {
		for _, delta := range cDiff.Deltas() {
			if strings.Contains(string(delta.Type), "comment") {
				continue
			}
			lines = append(lines, fmt.Sprintf("caveat %s: %s", c, delta.Type))
		}
	}
	sort.Strings(lines)
	return lines, nil
}
