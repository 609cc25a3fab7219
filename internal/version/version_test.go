package version_test

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/version"
)

func TestFromBuildInfo(t *testing.T) {
	spicedb := &debug.Module{Path: version.SpiceDBModule, Version: "v1.56.2"}
	for _, tc := range []struct {
		name     string
		bi       *debug.BuildInfo
		override string
		want     version.Info
	}{
		{
			name: "a release built from a checkout",
			bi: &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Path: version.Module, Version: "v1.2.0"},
				Deps:     []*debug.Module{{Path: "go.uber.org/zap", Version: "v1.28.0"}, spicedb},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "false"}}},
			want: version.Info{Hostaccess: "v1.2.0", Revision: "0123456789abcdef", Go: "go1.27.3", SpiceDB: "v1.56.2"},
		},
		{
			name: "a modified work tree",
			bi: &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Path: version.Module, Version: "v0.0.0-20260101000000-0123456789ab+dirty"},
				Deps:     []*debug.Module{spicedb},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "true"}}},
			want: version.Info{Hostaccess: "v0.0.0-20260101000000-0123456789ab+dirty", Revision: "0123456789abcdef", Modified: true, Go: "go1.27.3", SpiceDB: "v1.56.2"},
		},
		{
			name:     "the -ldflags override wins",
			bi:       &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Path: version.Module, Version: "(devel)"}, Deps: []*debug.Module{spicedb}},
			override: "v1.3.0-rc.1",
			want:     version.Info{Hostaccess: "v1.3.0-rc.1", Go: "go1.27.3", SpiceDB: "v1.56.2"},
		},
		{
			name: "embedded in another program: its VCS is not ours",
			bi: &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Path: "example.com/panel", Version: "v2.0.0"},
				Deps:     []*debug.Module{{Path: version.Module, Version: "v1.2.0"}, spicedb},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "fedcba"}}},
			want: version.Info{Hostaccess: "v1.2.0", Go: "go1.27.3", SpiceDB: "v1.56.2"},
		},
		{
			name: "a replaced SpiceDB reports its replacement",
			bi: &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Path: version.Module},
				Deps: []*debug.Module{{Path: version.SpiceDBModule, Version: "v1.56.2", Replace: &debug.Module{Path: "../spicedb"}}}},
			want: version.Info{Hostaccess: version.Unknown, Go: "go1.27.3", SpiceDB: version.Unknown},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, version.FromBuildInfo(tc.bi, tc.override))
		})
	}
	none := version.FromBuildInfo(nil, "")
	require.Equal(t, version.Unknown, none.Hostaccess)
	require.Equal(t, version.Unknown, none.SpiceDB)
	require.NotEmpty(t, none.Go)
}

func TestString(t *testing.T) {
	out := version.Info{Hostaccess: "v1.2.0", Revision: "0123456789abcdef", Modified: true, Go: "go1.27.3", SpiceDB: "v1.56.2"}.String()
	require.Equal(t, "hostaccess v1.2.0\nrevision   0123456789abcdef (modified)\ngo         go1.27.3\nspicedb    v1.56.2\n", out)
	out = version.Info{Hostaccess: "v1.2.0", Go: "go1.27.3", SpiceDB: "v1.56.2"}.String()
	require.NotContains(t, out, "revision")
}
