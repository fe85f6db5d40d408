package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is the release's version, set by the release build
// (go build -ldflags "-X main.version=v1.2.3", see Taskfile.yml's release
// task). Other builds report the module version from the build info.
var version string

// buildVersion is what `sigil version` reports, read once from the
// linker-set version and the build info the go command embeds.
type buildVersion struct {
	Version  string `json:"version" yaml:"version"`
	Module   string `json:"module_version" yaml:"module_version"`
	Revision string `json:"vcs_revision,omitempty" yaml:"vcs_revision,omitempty"`
	Time     string `json:"vcs_time,omitempty" yaml:"vcs_time,omitempty"`
	Modified bool   `json:"vcs_modified" yaml:"vcs_modified"`
	Go       string `json:"go_version" yaml:"go_version"`
	Platform string `json:"platform" yaml:"platform"`
}

func readBuildVersion() buildVersion {
	v := buildVersion{Version: version, Module: "(unknown)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" {
			v.Module = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.Time = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = v.Module
	}
	return v
}

// versionCommand is `sigil version [-o table|json|yaml]`. "text", the
// name the table had before -o took yaml, is still accepted.
func versionCommand(e env) *cobra.Command {
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision and Go version of this build",
		Args:  noArgs,
	}
	out := addOutputFlag(c, "table", "json", "yaml", "text")
	c.RunE = func(*cobra.Command, []string) error {
		v := readBuildVersion()
		if out.value == "json" || out.value == "yaml" {
			return encode(e.stdout, out.value, v)
		}
		fmt.Fprintf(e.stdout, "sigil %s\n", v.Version)
		fmt.Fprintf(e.stdout, "  module    %s\n", v.Module)
		if v.Revision != "" {
			modified := ""
			if v.Modified {
				modified = " (modified)"
			}
			fmt.Fprintf(e.stdout, "  revision  %s%s\n", v.Revision, modified)
		}
		if v.Time != "" {
			fmt.Fprintf(e.stdout, "  time      %s\n", v.Time)
		}
		fmt.Fprintf(e.stdout, "  go        %s %s\n", v.Go, v.Platform)
		return nil
	}
	return c
}
