package cli

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sindri-dev/sindri-packer/internal/config"
)

// registerCompletions makes the shell complete cloud names: --clouds item
// by item (a comma list, or all), and every command's --cloud.
func (c *Command) registerCompletions(root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("clouds", completeCloudList)
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		if cmd.LocalNonPersistentFlags().Lookup("cloud") != nil {
			_ = cmd.RegisterFlagCompletionFunc("cloud", func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				out := slices.DeleteFunc(slices.Clone(config.Clouds), func(s string) bool { return !strings.HasPrefix(s, toComplete) })
				return out, cobra.ShellCompDirectiveNoFileComp
			})
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeCloudList completes the last item of a comma-separated list of
// clouds, leaving out those already given.
func completeCloudList(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	prefix := ""
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		prefix = toComplete[:i+1]
	}
	given := strings.Split(prefix, ",")
	var out []string
	if prefix == "" {
		out = append(out, "all")
	}
	for _, name := range config.Clouds {
		if !slices.Contains(given, name) {
			out = append(out, prefix+name)
		}
	}
	out = slices.DeleteFunc(out, func(s string) bool { return !strings.HasPrefix(s, toComplete) })
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
