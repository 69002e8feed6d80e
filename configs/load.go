package configs

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/parley-rtc/parley/signaling"
)

// EnvPrefix is the prefix of environment variables: PARLEY_HTTP_ADDRESS sets http.address.
const EnvPrefix = "PARLEY"

// ErrUnknownKey is returned when the configuration file contains a key Parley does not know.
var ErrUnknownKey = errors.New("unknown configuration key")

// ErrInvalid is returned (wrapped) when a configuration value breaks a rule.
var ErrInvalid = errors.New("invalid configuration")

// Load builds the configuration from, later wins: the built-in defaults, the YAML file at
// path (if path is not empty), the PARLEY_* environment (env lists are comma-separated),
// and the flags in fs that were set on the command line (see RegisterFlags). The result
// is validated. A PARLEY_<SECTION>_… variable that names no key is an error (checkEnvKeys).
func Load(path string, fs *pflag.FlagSet) (Config, error) {
	if err := checkEnvKeys(os.Environ(), configLeaves()); err != nil {
		return Config{}, err
	}
	return load(path, fs, os.LookupEnv)
}

func load(path string, fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) (Config, error) {
	return loadWith(path, fs, lookupEnv, Config.Validate)
}

// loadWith is load with validate as the final check.
func loadWith(path string, fs *pflag.FlagSet, lookupEnv func(string) (string, bool), validate func(Config) error) (Config, error) {
	cfg := Default()
	leaves, prefixes := keysOf(reflect.TypeOf(cfg))

	v := viper.New()
	for _, k := range leaves {
		v.SetDefault(k.name, defaultValue(cfg, k.path))
	}
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("read config %s: %w", path, err)
		}
		if err := checkFileKeys(path, leaves, prefixes); err != nil {
			return Config{}, err
		}
	}
	for _, k := range leaves {
		if k.free {
			continue // maps and lists of objects come from the file only
		}
		if val, ok := lookupEnv(envName(k.name)); ok {
			v.Set(k.name, val)
		}
	}
	if fs != nil {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Changed && isKnown(f.Name, leaves) {
				v.Set(f.Name, f.Value.String())
			}
		})
	}
	if err := v.Unmarshal(&cfg, func(dc *mapstructure.DecoderConfig) {
		dc.WeaklyTypedInput = true
		dc.ErrorUnused = false
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		)
	}); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := validate(cfg); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return cfg, nil
}

// LoadAuth is Load for a command that needs only the auth section (`parley token`): the
// other sections are read but not checked, so a file whose records DSN or webhook secret
// the server takes from its environment mints tokens without them. Unknown keys and
// PARLEY_ variables are refused as by Load.
func LoadAuth(path string) (signaling.AuthConfig, error) {
	if err := checkEnvKeys(os.Environ(), configLeaves()); err != nil {
		return signaling.AuthConfig{}, err
	}
	cfg, err := loadWith(path, nil, os.LookupEnv, func(c Config) error { return c.Auth.Validate() })
	return cfg.Auth, err
}

// RegisterFlags defines one flag per configuration key on fs (e.g. --http.address,
// --rtc.node_ip), each documented with its default. Only flags given on the command line
// override the file and the environment.
func RegisterFlags(fs *pflag.FlagSet) {
	cfg := Default()
	leaves, _ := keysOf(reflect.TypeOf(cfg))
	for _, k := range leaves {
		if k.free {
			continue
		}
		def := defaultValue(cfg, k.path)
		fs.String(k.name, formatValue(def), "configuration key "+k.name)
	}
}

// Keys lists every configuration key (dotted, as in the YAML file), sorted.
func Keys() []string {
	leaves, _ := keysOf(reflect.TypeOf(Default()))
	out := make([]string, 0, len(leaves))
	for _, k := range leaves {
		out = append(out, k.name)
	}
	sort.Strings(out)
	return out
}

type key struct {
	name string // dotted mapstructure path
	path []int  // field index path
	free bool   // a map or a list of objects: its sub-keys are not fixed
}

var durationType = reflect.TypeOf(time.Duration(0))

// keysOf walks a config struct by its mapstructure tags. Nested structs become prefixes;
// maps are leaves whose sub-keys are free (prefixes lists them for the unknown-key check).
func keysOf(t reflect.Type) (leaves []key, freePrefixes []string) {
	var walk func(t reflect.Type, prefix string, path []int)
	walk = func(t reflect.Type, prefix string, path []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
			if tag == "-" {
				continue
			}
			if tag == "" {
				tag = strings.ToLower(f.Name)
			}
			name := tag
			if prefix != "" {
				name = prefix + "." + tag
			}
			p := append(append([]int(nil), path...), i)
			ft := f.Type
			switch {
			case ft.Kind() == reflect.Struct && ft != durationType:
				walk(ft, name, p)
			case ft.Kind() == reflect.Map || (ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct):
				leaves = append(leaves, key{name: name, path: p, free: true})
				freePrefixes = append(freePrefixes, name)
			default:
				leaves = append(leaves, key{name: name, path: p})
			}
		}
	}
	walk(t, "", nil)
	return leaves, freePrefixes
}

func defaultValue(cfg Config, path []int) any {
	return reflect.ValueOf(cfg).FieldByIndex(path).Interface()
}

func formatValue(v any) string {
	switch x := v.(type) {
	case []string:
		return strings.Join(x, ",")
	case time.Duration:
		return x.String()
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Map || rv.Kind() == reflect.Slice {
			return ""
		}
		return fmt.Sprint(v)
	}
}

func isKnown(name string, leaves []key) bool {
	for _, k := range leaves {
		if k.name == name {
			return true
		}
	}
	return false
}

// checkFileKeys reads the file on its own and fails on the first key (sorted) that
// names no configuration field.
func checkFileKeys(path string, leaves []key, freePrefixes []string) error {
	fv := viper.New()
	fv.SetConfigFile(path)
	if err := fv.ReadInConfig(); err != nil {
		return fmt.Errorf("read config %s: %w", path, err)
	}
	known := make(map[string]bool, len(leaves))
	for _, k := range leaves {
		known[k.name] = true
	}
	fileKeys := fv.AllKeys()
	sort.Strings(fileKeys)
outer:
	for _, fk := range fileKeys {
		if known[fk] {
			continue
		}
		for _, p := range freePrefixes {
			if strings.HasPrefix(fk, p+".") {
				continue outer
			}
		}
		for _, k := range leaves { // an empty section (only comments below it)
			if strings.HasPrefix(k.name, fk+".") {
				continue outer
			}
		}
		return fmt.Errorf("config %s: %w %q", path, ErrUnknownKey, fk)
	}
	return nil
}
