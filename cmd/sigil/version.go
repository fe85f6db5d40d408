package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the release's version, set by the release build
// (go build -ldflags "-X main.version=v1.2.3", see Taskfile.yml's release
// task). Other builds report the module version from the build info.
var version string

// buildVersion is what `sigil version` reports, read once from the
// linker-set version and the build info the go command embeds.
type buildVersion struct {
	Version  string `json:"version"`
	Module   string `json:"module_version"`
	Revision string `json:"vcs_revision,omitempty"`
	Time     string `json:"vcs_time,omitempty"`
	Modified bool   `json:"vcs_modified"`
	Go       string `json:"go_version"`
	Platform string `json:"platform"`
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

// versionCommand runs `sigil version [-o text|json]`.
func versionCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sigil version", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	output := fs.String("o", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || (*output != "text" && *output != "json") {
		fmt.Fprintln(stderr, "sigil: usage: sigil version [-o text|json]")
		return 2
	}
	v := readBuildVersion()
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(stderr, "sigil: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "sigil %s\n", v.Version)
	fmt.Fprintf(stdout, "  module    %s\n", v.Module)
	if v.Revision != "" {
		modified := ""
		if v.Modified {
			modified = " (modified)"
		}
		fmt.Fprintf(stdout, "  revision  %s%s\n", v.Revision, modified)
	}
	if v.Time != "" {
		fmt.Fprintf(stdout, "  time      %s\n", v.Time)
	}
	fmt.Fprintf(stdout, "  go        %s %s\n", v.Go, v.Platform)
	return 0
}
