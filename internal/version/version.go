// Package version says which hostaccess, Go and SpiceDB a binary is built
// from, read from the build information the go command embeds.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Modules whose versions are reported.
const (
	Module        = "github.com/hostaccess/hostaccess"
	SpiceDBModule = "github.com/authzed/spicedb"
)

// Version, when set, is hostaccess's version instead of the module version
// of the build information:
//
//	go build -ldflags "-X github.com/hostaccess/hostaccess/internal/version.Version=v1.2.0" ./cmd/hostaccess
var Version string

// Unknown is a version the build information does not give: a test or
// `go run` build, a replace by a local directory.
const Unknown = "(devel)"

// Info is what a binary knows of its versions.
type Info struct {
	// Hostaccess is hostaccess's version: Version if set, else its module
	// version (a tag, or a pseudo-version the go command derives from the
	// VCS), else (devel).
	Hostaccess string
	// Revision and Modified are the VCS revision the binary was built from
	// and whether the work tree had changes, when hostaccess is the main
	// module and was built in a checkout.
	Revision string
	Modified bool
	// Go is the Go release that built the binary.
	Go string
	// SpiceDB is the module version of the embedded SpiceDB.
	SpiceDB string
}

// Current is the running binary's Info.
func Current() Info {
	bi, _ := debug.ReadBuildInfo()
	return FromBuildInfo(bi, Version)
}

// FromBuildInfo derives Info from build information (nil: none) and the
// -ldflags override (empty: none).
func FromBuildInfo(bi *debug.BuildInfo, override string) Info {
	info := Info{Hostaccess: Unknown, Go: runtime.Version(), SpiceDB: Unknown}
	if bi != nil {
		if bi.GoVersion != "" {
			info.Go = bi.GoVersion
		}
		if bi.Main.Path == Module {
			info.Hostaccess = moduleVersion(&bi.Main)
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					info.Revision = s.Value
				case "vcs.modified":
					info.Modified = s.Value == "true"
				}
			}
		}
		for _, dep := range bi.Deps {
			switch dep.Path {
			case Module: // embedded in another program
				info.Hostaccess = moduleVersion(dep)
			case SpiceDBModule:
				info.SpiceDB = moduleVersion(dep)
			}
		}
	}
	if override != "" {
		info.Hostaccess = override
	}
	return info
}

// moduleVersion is a module's version, its replacement's when replaced.
func moduleVersion(m *debug.Module) string {
	if m.Replace != nil {
		m = m.Replace
	}
	if m.Version == "" {
		return Unknown
	}
	return m.Version
}

// String is the `hostaccess version` output, one line a component.
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostaccess %s\n", i.Hostaccess)
	if i.Revision != "" {
		modified := ""
		if i.Modified {
			modified = " (modified)"
		}
		fmt.Fprintf(&b, "revision   %s%s\n", i.Revision, modified)
	}
	fmt.Fprintf(&b, "go         %s\n", i.Go)
	fmt.Fprintf(&b, "spicedb    %s\n", i.SpiceDB)
	return b.String()
}
