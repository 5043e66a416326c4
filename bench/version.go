package bench

import "runtime/debug"

// modVersion returns the version of a module linked into this binary, or
// "(unknown)".
func modVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == path {
				return m.Version
			}
		}
	}
	return "(unknown)"
}
