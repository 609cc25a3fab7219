package freshness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	// probeAccount names the objects the tracker's own requests use.
	probeAccount = "hostaccess-freshness-probe"
	// probeWait is how long a new watch may take to show its probe.
	probeWait = 30 * time.Second
	// probeTTL: probe relationships lapse by themselves.
	probeTTL = time.Hour
	// livenessEvery is how often a live watch's probe is written again.
	livenessEvery = 30 * time.Second
	// maxBackoff caps the wait between two watch attempts.
	maxBackoff = 30 * time.Second
)

var errProbeLate = fmt.Errorf("the watch did not show its probe within %s", probeWait)

// Follow watches SpiceDB for relationship changes and advances the token of
// every account they touch, so changes made by other nodes, by the CLI or
// by any client of SpiceDB's API are answered fresh here too. It blocks
// until ctx ends, reconnecting after errors; while it is not following a
// live watch, every answer is fully consistent.
//
// A new watch is live once it shows a probe relationship written after it
// started. Without a cursor (at start, or after one too old for SpiceDB's
// garbage collection window), the floor first moves to SpiceDB's newest
// revision, which covers every change the watch will not report.
func (t *Tracker) Follow(ctx context.Context, client Client) {
	t.mu.Lock()
	t.client = client
	t.mu.Unlock()
	defer t.stopExpiries()
	if err := t.loadExpiries(ctx); err != nil {
		t.log.Warn("freshness: stored expiries not readable; grants that lapse before the next repin may be answered late", zap.Error(err))
	}
	go t.repinLoop(ctx)
	var cursor *v1.ZedToken
	backoff := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		err := t.followOnce(ctx, client, &cursor)
		t.setFollowing(false)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = time.Second // it was live for a while: retry soon
		}
		t.log.Warn("freshness: not following SpiceDB's changes; answers are fully consistent until the watch is back",
			zap.Error(err), zap.Duration("retry_in", backoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (t *Tracker) followOnce(ctx context.Context, client Client, cursor **v1.ZedToken) error {
	if *cursor == nil {
		head, err := t.head(ctx)
		if err != nil {
			return err
		}
		t.mu.Lock()
		if !t.raiseFloorLocked(head) {
			// The floor moved meanwhile to a change not ordered with head:
			// the next answer reads the newest revision, covering both.
			t.gen++
			t.floor = mark{unsure: true, gen: t.gen}
		}
		t.mu.Unlock()
		*cursor = &v1.ZedToken{Token: head.token}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stream, err := client.Watch(ctx, &v1.WatchRequest{
		OptionalStartCursor: *cursor,
		// A schema change changes every answer: it moves the floor.
		OptionalUpdateKinds: []v1.WatchKind{v1.WatchKind_WATCH_KIND_INCLUDE_RELATIONSHIP_UPDATES, v1.WatchKind_WATCH_KIND_INCLUDE_SCHEMA_UPDATES},
	})
	if err != nil {
		return watchError(err, cursor)
	}
	probe, err := writeProbe(ctx, client)
	if err != nil {
		return err
	}
	timer := time.AfterFunc(probeWait, func() { cancel(errProbeLate) })
	defer timer.Stop()
	// Liveness: a watch that goes quiet without an error (a half-open
	// connection) would leave this node blind; every livenessEvery the
	// probe is written again and must show up within probeWait, or the
	// watch is restarted (answers fully consistent meanwhile).
	go every(ctx, livenessEvery, func() bool {
		if !t.Following() {
			return true
		}
		timer.Reset(probeWait)
		if err := touchMarker(ctx, client, probe); err != nil {
			cancel(fmt.Errorf("writing the watch's liveness probe: %w", err))
			return false
		}
		return true
	})
	for {
		resp, err := stream.Recv()
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
				return cause
			}
			return watchError(err, cursor)
		}
		sawProbe := false
		for _, u := range resp.GetUpdates() {
			res := u.GetRelationship().GetResource()
			if res.GetObjectType() == "operation" && res.GetObjectId() == probe && u.GetOperation() != v1.RelationshipUpdate_OPERATION_DELETE {
				sawProbe = true
			}
		}
		scopes := ScopesOfUpdates(resp.GetUpdates())
		if resp.GetSchemaUpdated() && !slices.Contains(scopes, Global) {
			scopes = append(scopes, Global)
		}
		t.NoteExpirations(ctx, resp.GetUpdates())
		if err := t.Observe(scopes, resp.GetChangesThrough().GetToken()); err != nil {
			return err
		}
		*cursor = resp.GetChangesThrough()
		if !sawProbe {
			continue
		}
		timer.Stop()
		// The probe has served: leave no trace in exports (it would lapse
		// within the hour anyway).
		if _, err := client.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{RelationshipFilter: &v1.RelationshipFilter{
			ResourceType: "operation", OptionalResourceId: probe,
		}}); err != nil {
			t.log.Debug("freshness: probe not deleted; it lapses by itself", zap.Error(err))
		}
		if !t.Following() {
			t.setFollowing(true)
			t.log.Info("freshness: following SpiceDB's changes; answers come from cache unless an account changed")
		}
	}
}

// ErrNotFollowing: the watch did not go live in time.
var ErrNotFollowing = errors.New("not following SpiceDB's watch yet; checks are fully consistent until it is (on Postgres the Watch API needs track_commit_timestamp=on; CockroachDB needs rangefeeds)")

// WaitFollowing waits until Follow has a live watch, at most timeout:
// ErrNotFollowing after it, ctx's error if ctx ends first.
func (t *Tracker) WaitFollowing(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !t.Following() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, ErrNotFollowing)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// watchError explains a failed watch, and drops a cursor SpiceDB no longer
// serves.
func watchError(err error, cursor **v1.ZedToken) error {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		*cursor = nil // too old, or from another datastore: start again from now
	case codes.Unimplemented:
		return fmt.Errorf("SpiceDB's Watch API is off (on Postgres it needs track_commit_timestamp=on): %w", err)
	}
	return fmt.Errorf("watching SpiceDB: %w", err)
}

// writeProbe writes a relationship only this watch knows, to see it arrive.
func writeProbe(ctx context.Context, client v1.PermissionsServiceClient) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id := probeAccount + "-" + hex.EncodeToString(b)
	if err := touchMarker(ctx, client, id); err != nil {
		return "", fmt.Errorf("writing the watch probe: %w", err)
	}
	return id, nil
}

// touchMarker writes (or renews) one of the tracker's own operation
// markers, which no permission reads and which lapse within the hour.
func touchMarker(ctx context.Context, client v1.PermissionsServiceClient, id string) error {
	_, err := client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource:          &v1.ObjectReference{ObjectType: "operation", ObjectId: id},
			Relation:          "applied",
			Subject:           &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "account", ObjectId: probeAccount}},
			OptionalExpiresAt: timestamppb.New(time.Now().Add(probeTTL)),
		},
	}}})
	return err
}
