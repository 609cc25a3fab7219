package engine

import (
	"sync"

	"github.com/jzelinskie/cobrautil/v2"

	"github.com/hostaccess/hostaccess/internal/version"
)

var spiceDBVersionOnce sync.Once

// setSpiceDBVersion makes the embedded SpiceDB report the release it is
// (the SpiceDB module version of the build information, v1.56.2) when a
// client asks for its version (the io.spicedb.debug.version response
// metadata zed reads). SpiceDB takes its version from cobrautil.Version,
// set by -ldflags in its own releases; unset, it falls back to the main
// module's VCS revision, hostaccess's, which zed warns is "not a released
// version of SpiceDB". A cobrautil.Version set at build time is kept.
func setSpiceDBVersion() {
	spiceDBVersionOnce.Do(func() {
		if v := version.Current().SpiceDB; cobrautil.Version == "" && v != version.Unknown {
			cobrautil.Version = v
		}
	})
}
