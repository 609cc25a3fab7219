package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGenerateShape checks the generated provider has the shape gen.go's
// distributions and docs/benchmarks.md describe: each count drawn once per
// account, so the long tail of products is there.
func TestGenerateShape(t *testing.T) {
	p := Generate(10000, 1, time.Unix(0, 0))
	var small, medium, large, huge, maxProducts, products, withGroups, groups, withTags, tags int
	for _, a := range p.Accounts {
		n := len(a.Products)
		products += n
		maxProducts = max(maxProducts, n)
		switch {
		case n <= 5:
			small++
		case n <= 20:
			medium++
		case n <= 100:
			large++
		default:
			huge++
		}
		if len(a.Groups) > 0 {
			withGroups++
			groups += len(a.Groups)
			require.LessOrEqual(t, len(a.Groups), 3)
		}
		own := 0
		for _, tag := range a.Tags {
			if len(tag) < 7 || tag[:7] != "agency-" {
				own++
			}
		}
		if own > 0 {
			withTags++
			tags += own
			require.LessOrEqual(t, own, 4)
		}
	}
	share := func(n int) float64 { return float64(n) / float64(len(p.Accounts)) }
	require.InDelta(t, 0.70, share(small), 0.02, "1-5 products")
	require.InDelta(t, 0.20, share(medium), 0.02, "6-20 products")
	require.InDelta(t, 0.08, share(large), 0.01, "21-100 products")
	require.InDelta(t, 0.02, share(huge), 0.005, "101-500 products")
	require.Greater(t, maxProducts, 400)
	// 1-3 groups, uniformly: 2 on average; 1-4 tags: 2.5.
	require.InDelta(t, 0.20, share(withGroups), 0.02)
	require.InDelta(t, 2.0, float64(groups)/float64(withGroups), 0.15)
	require.InDelta(t, 0.20, share(withTags), 0.02)
	require.InDelta(t, 2.5, float64(tags)/float64(withTags), 0.15)
	t.Logf("10,000 accounts: %d users, %d products, %d relationships, largest account %d products", p.Users, products, len(p.Relationships()), maxProducts)
}
