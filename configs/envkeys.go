package configs

import (
	"fmt"
	"reflect"
	"strings"
)

// envName is the environment variable of the dotted key name (http.address →
// PARLEY_HTTP_ADDRESS).
func envName(name string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(name, ".", "_"))
}

// checkEnvKeys refuses a PARLEY_<SECTION>_… variable of environ that names no key of that
// section (a typo such as PARLEY_CLUSTER_REDIS_URI would otherwise leave cluster.redis_url
// empty and run the node alone), and one of a key the file alone sets (auth.apps,
// turn.static_users). Variables whose second word is not a section (PARLEY_PUBLIC_IP of
// the compose example, test switches) are not Parley's configuration and pass (D228).
func checkEnvKeys(environ []string, leaves []key) error {
	known := make(map[string]key, len(leaves))
	sections := map[string]bool{}
	for _, k := range leaves {
		known[envName(k.name)] = k
		section, _, _ := strings.Cut(k.name, ".")
		sections[strings.ToUpper(section)] = true
	}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, EnvPrefix+"_")
		section, sub, hasSub := strings.Cut(rest, "_")
		if !ok || !hasSub || !sections[section] {
			continue
		}
		k, ok := known[name]
		switch {
		case !ok:
			return fmt.Errorf("environment %s: %w %q (see configs/parley.yaml)", name, ErrUnknownKey,
				strings.ToLower(section)+"."+strings.ToLower(sub))
		case k.free:
			return fmt.Errorf("environment %s: %s is a list or map set in the configuration file only", name, k.name)
		}
	}
	return nil
}

// configLeaves are the keys of Config.
func configLeaves() []key {
	leaves, _ := keysOf(reflect.TypeOf(Config{}))
	return leaves
}
