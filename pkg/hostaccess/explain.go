package hostaccess

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/datalayer"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/tuple"
	"golang.org/x/sync/errgroup"

	"github.com/hostaccess/hostaccess/internal/tuples"
)

// explainers hand out SpiceDB development contexts that hold the schema
// and nothing else, to run fully traced, uncached checks over the
// relationships one audit call loads. Building a context compiles and
// validates the schema (~5 ms of CPU, most of an explanation), so contexts
// are kept and reused: a call writes its relationships, checks at that
// revision, and deletes them again.
type explainers struct {
	schema string
	free   chan *devSlot

	once      sync.Once
	relations map[string]map[string]bool // type -> its relations and permissions, per the configured schema
}

type devSlot struct {
	dev     *development.DevContext
	data    datalayer.DataLayer // dev's, with the schema read once (fixedSchema)
	uses    int
	written int
}

// A context's datastore keeps every revision and its change log (the
// development datastore never collects garbage), so each call's
// relationships stay in memory until the context is dropped: after
// maxExplainerUses calls or maxExplainerWrites relationships.
const (
	maxExplainerUses   = 256
	maxExplainerWrites = 50_000
)

func newExplainers(schema string) *explainers {
	return &explainers{schema: schema, free: make(chan *devSlot, runtime.GOMAXPROCS(0))}
}

// explainer is one audit call's development context: the schema with rels.
type explainer struct {
	pool *explainers
	slot *devSlot
	rels []tuple.RelationshipUpdate
	dev  development.DevContext
}

// explainer loads rels (see readReachable) into a development context.
func (p *explainers) explainer(ctx context.Context, rels []*v1.Relationship) (*explainer, error) {
	var slot *devSlot
	select {
	case slot = <-p.free:
	default:
		dev, devErrs, err := development.NewDevContext(context.Background(), &devinterface.RequestContext{Schema: p.schema})
		if err != nil {
			return nil, fmt.Errorf("explaining: %w", err)
		}
		if devErrs != nil && len(devErrs.GetInputErrors()) > 0 {
			return nil, fmt.Errorf("explaining: %s", devErrs.GetInputErrors()[0].GetMessage())
		}
		schema, err := dev.DataLayer.SnapshotReader(dev.Revision, datalayer.NoSchemaHashInDevelopment).ReadSchema(ctx)
		if err != nil {
			dev.Dispose()
			return nil, fmt.Errorf("explaining: %w", err)
		}
		slot = &devSlot{dev: dev, data: fixedSchemaLayer{DataLayer: dev.DataLayer, schema: &fixedSchema{SchemaReader: schema}}}
	}
	p.once.Do(func() { p.relations = relationsOf(slot.dev.CompiledSchema) })
	e := &explainer{pool: p, slot: slot, dev: *slot.dev}
	for _, r := range rels {
		// SpiceDB validated them against its schema when they were written;
		// that schema may not be the one configured here (changed with the
		// schema command), and the context would then ignore what it does
		// not know, giving reasons short of the truth.
		if err := p.fits(r); err != nil {
			p.release(slot) // untouched: still empty
			return nil, err
		}
		e.rels = append(e.rels, tuple.Touch(tuple.FromV1Relationship(r)))
	}
	slot.written += len(e.rels)
	rev, err := slot.dev.DataLayer.ReadWriteTx(ctx, func(ctx context.Context, rwt datalayer.ReadWriteTransaction) error {
		return rwt.WriteRelationships(ctx, e.rels)
	})
	if err != nil {
		slot.dev.Dispose()
		return nil, fmt.Errorf("explaining: %w", err)
	}
	e.dev.DataLayer = slot.data
	e.dev.Ctx = datalayer.ContextWithDataLayer(ctx, slot.data)
	e.dev.Revision = rev
	return e, nil
}

// fits reports a relationship whose types or relations the configured
// schema does not define.
func (p *explainers) fits(r *v1.Relationship) error {
	res, sub := r.GetResource().GetObjectType(), r.GetSubject()
	rel := sub.GetOptionalRelation()
	if !p.relations[res][r.GetRelation()] || p.relations[sub.GetObject().GetObjectType()] == nil || (rel != "" && !p.relations[sub.GetObject().GetObjectType()][rel]) {
		return fmt.Errorf("explaining: %s does not fit the schema this service was configured with (was the engine's schema changed?)", tuples.String(r))
	}
	return nil
}

func relationsOf(compiled *compiler.CompiledSchema) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, def := range compiled.ObjectDefinitions {
		rels := map[string]bool{}
		for _, r := range def.GetRelation() {
			rels[r.GetName()] = true
		}
		out[def.GetName()] = rels
	}
	return out
}

func (e *explainer) check(res *v1.ObjectReference, permission, userID string) (*v1.CheckDebugTrace, error) {
	result, err := development.RunCheck(&e.dev,
		tuple.ONR(res.GetObjectType(), res.GetObjectId(), permission),
		tuple.ONR(typeUser, userID, tuple.Ellipsis), nil)
	if err != nil {
		return nil, fmt.Errorf("explaining %s: %w", userID, err)
	}
	return result.V1DebugInfo.GetCheck(), nil
}

// close empties the context and gives it back, or drops it when emptying
// fails, it has served its uses, or enough are kept.
func (e *explainer) close() {
	deletes := make([]tuple.RelationshipUpdate, len(e.rels))
	for i, u := range e.rels {
		deletes[i] = tuple.Delete(u.Relationship)
	}
	slot := e.slot
	slot.uses++
	_, err := slot.dev.DataLayer.ReadWriteTx(context.Background(), func(ctx context.Context, rwt datalayer.ReadWriteTransaction) error {
		return rwt.WriteRelationships(ctx, deletes)
	})
	if err == nil && slot.uses < maxExplainerUses && slot.written < maxExplainerWrites {
		e.pool.release(slot)
		return
	}
	slot.dev.Dispose()
}

// release keeps an empty context for the next call, or drops it when
// enough are kept.
func (p *explainers) release(slot *devSlot) {
	select {
	case p.free <- slot:
	default:
		slot.dev.Dispose()
	}
}

// fixedSchemaLayer answers every schema read of a development context from
// one reader taken when the context was built: SpiceDB's development
// dispatcher has no schema cache and unmarshals a definition on every
// dispatch (most of an explanation's allocations), and these contexts'
// schema never changes once built.
type fixedSchemaLayer struct {
	datalayer.DataLayer
	schema *fixedSchema
}

func (l fixedSchemaLayer) SnapshotReader(rev datastore.Revision, hash datalayer.SchemaHash) datalayer.RevisionedReader {
	return fixedSchemaReader{RevisionedReader: l.DataLayer.SnapshotReader(rev, hash), schema: l.schema}
}

type fixedSchemaReader struct {
	datalayer.RevisionedReader
	schema *fixedSchema
}

func (r fixedSchemaReader) ReadSchema(context.Context) (datalayer.SchemaReader, error) {
	return r.schema, nil
}

// fixedSchema remembers the definitions it was asked for. (SpiceDB's own
// schema cache shares definitions between requests the same way.)
type fixedSchema struct {
	datalayer.SchemaReader
	types sync.Map // name -> typeLookup
}

type typeLookup struct {
	def   datastore.RevisionedTypeDefinition
	found bool
}

func (f *fixedSchema) LookupTypeDefByName(ctx context.Context, name string) (datastore.RevisionedTypeDefinition, bool, error) {
	if v, ok := f.types.Load(name); ok {
		l := v.(typeLookup)
		return l.def, l.found, nil
	}
	def, found, err := f.SchemaReader.LookupTypeDefByName(ctx, name)
	if err != nil {
		return def, found, err
	}
	f.types.Store(name, typeLookup{def, found})
	return def, found, nil
}

// readReachable reads, at one revision, what a check on res (an account or
// one of its objects) can traverse. The account comes first: it is read
// fully consistent, its owner shows the account exists, and its revision is
// the one every other read uses.
func (s *Service) readReachable(ctx context.Context, accountID string, res *v1.ObjectReference) ([]*v1.Relationship, error) {
	rels, _, err := s.readReachableAt(ctx, accountID, res, fullyConsistent())
	return rels, err
}

// readReachableAt is readReachable at the revision cons names (a snapshot,
// or fully consistent), and returns that revision.
func (s *Service) readReachableAt(ctx context.Context, accountID string, res *v1.ObjectReference, cons *v1.Consistency) ([]*v1.Relationship, *v1.ZedToken, error) {
	acct := accountRef(accountID)
	own, at, err := s.readAll(ctx, &v1.RelationshipFilter{ResourceType: typeAccount, OptionalResourceId: accountID}, cons)
	if err != nil {
		return nil, nil, err
	}
	if at == nil {
		at = cons.GetAtExactSnapshot()
	}
	if st := (&accountState{id: accountID, rels: own}); !st.exists() {
		return nil, nil, notFoundf("account %s has no owner (closed?)", accountID)
	}
	known := map[string][]*v1.Relationship{tuples.ObjectString(acct): own}
	rels, err := reachable(ctx, res, known, func(ctx context.Context, objs []*v1.ObjectReference) ([][]*v1.Relationship, error) {
		out := make([][]*v1.Relationship, len(objs))
		g, gctx := errgroup.WithContext(ctx)
		for i, o := range objs {
			g.Go(func() error {
				rels, _, err := s.readAll(gctx, &v1.RelationshipFilter{ResourceType: o.GetObjectType(), OptionalResourceId: o.GetObjectId()}, atSnapshot(at))
				out[i] = rels
				return err
			})
		}
		return out, g.Wait()
	})
	return rels, at, err
}

// leafTypes are subject types with no relations of their own: nothing to
// read behind them.
var leafTypes = map[string]bool{typeUser: true, typeContact: true}

// reachable returns the relationships a check on res can traverse: res's,
// then those of every object they name, transitively (hosts included).
// SpiceDB walks from a resource to its subjects, never sideways, so one
// product's explanation leaves out the account's other products, seats and
// invitations, whose reading grew with the account. Each level's objects are
// read in one call of read (a product, then its account, groups and tags,
// then hosts); objects in known are taken from it instead.
func reachable(ctx context.Context, res *v1.ObjectReference, known map[string][]*v1.Relationship, read func(context.Context, []*v1.ObjectReference) ([][]*v1.Relationship, error)) ([]*v1.Relationship, error) {
	var out []*v1.Relationship
	seen := map[string]bool{tuples.ObjectString(res): true}
	level := []*v1.ObjectReference{res}
	for len(level) > 0 {
		var toRead []*v1.ObjectReference
		var rels []*v1.Relationship
		for _, o := range level {
			if k, ok := known[tuples.ObjectString(o)]; ok {
				rels = append(rels, k...)
			} else {
				toRead = append(toRead, o)
			}
		}
		if len(toRead) > 0 {
			got, err := read(ctx, toRead)
			if err != nil {
				return nil, err
			}
			for _, r := range got {
				rels = append(rels, r...)
			}
		}
		level = nil
		for _, r := range rels {
			out = append(out, r)
			sub := r.GetSubject().GetObject()
			if k := tuples.ObjectString(sub); !seen[k] && !leafTypes[sub.GetObjectType()] {
				seen[k] = true
				level = append(level, sub)
			}
		}
	}
	return out, nil
}
