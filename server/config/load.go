package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/joho/godotenv"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	gotoml "github.com/pelletier/go-toml/v2"
	"github.com/spf13/pflag"
)

// Default locations of the files Load reads when Options names none.
const (
	// DefaultConfigFile is the TOML file read when no other is named. It
	// may be missing.
	DefaultConfigFile = "config/default.toml"
	// DefaultEnvFile is the .env file read when no other is named. It may
	// be missing.
	DefaultEnvFile = ".env"
	// EnvConfigFile is the environment variable that names the TOML file
	// when neither Options.ConfigFile nor --config does.
	EnvConfigFile = EnvPrefix + "CONFIG"
)

// Options tells Load where to read from. The zero Options reads
// config/default.toml and .env if they exist, and the process environment.
type Options struct {
	// ConfigFile is the TOML file. When empty, the --config flag is used,
	// then the WHISPEER_CONFIG variable, then DefaultConfigFile. A file
	// named explicitly must exist; the default may be missing.
	ConfigFile string
	// EnvFile is the .env file. When empty, the --env-file flag is used,
	// then DefaultEnvFile. A file named explicitly must exist; the default
	// may be missing.
	EnvFile string
	// Flags are parsed command-line flags, usually set up by
	// RegisterFlags. Only flags the user changed are applied. Nil means no
	// flags.
	Flags *pflag.FlagSet
	// Environ replaces os.Environ(), in its "KEY=value" form; tests set it
	// to keep the real environment out. Nil means os.Environ().
	Environ []string
}

// Load reads the configuration from its layers (see the package
// documentation for the precedence), then validates it with
// [Config.Validate]. It does not apply [Config.Security].
func Load(opts Options) (*Config, error) {
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	envFile, explicit := pick(opts.EnvFile, flagValue(opts.Flags, FlagEnvFile), "", DefaultEnvFile)
	dotenv, err := readDotEnv(envFile, explicit, environ)
	if err != nil {
		return nil, err
	}
	cfgFile, explicit := pick(opts.ConfigFile, flagValue(opts.Flags, FlagConfig),
		lookupEnv(EnvConfigFile, environ, dotenv), DefaultConfigFile)

	k := koanf.New(".")
	if err := k.Load(mapProvider(defaultMap()), nil); err != nil {
		return nil, fmt.Errorf("config: defaults: %w", err)
	}
	if err := loadFile(k, cfgFile, explicit); err != nil {
		return nil, err
	}
	for _, vars := range [][]string{dotenv, environ} {
		p := env.Provider(".", env.Opt{
			Prefix:        EnvPrefix,
			TransformFunc: func(name, value string) (string, any) { return envKey(name), value },
			EnvironFunc:   func() []string { return vars },
		})
		if err := k.Load(p, nil); err != nil {
			return nil, fmt.Errorf("config: environment: %w", err)
		}
	}
	if opts.Flags != nil {
		if err := k.Load(posflag.ProviderWithFlag(opts.Flags, ".", nil, flagKey), nil); err != nil {
			return nil, fmt.Errorf("config: flags: %w", err)
		}
	}

	var c Config
	if err := decode(k, &c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// pick returns the first non-empty of the explicit choices and whether one
// was given, or def and false.
func pick(choices ...string) (string, bool) {
	def := choices[len(choices)-1]
	for _, c := range choices[:len(choices)-1] {
		if c != "" {
			return c, true
		}
	}
	return def, false
}

// flagValue returns the value of the named flag if fs has it and the user
// set it.
func flagValue(fs *pflag.FlagSet, name string) string {
	if fs == nil {
		return ""
	}
	if f := fs.Lookup(name); f != nil && f.Changed {
		return f.Value.String()
	}
	return ""
}

// lookupEnv finds name in environ, then in dotenv.
func lookupEnv(name string, environ, dotenv []string) string {
	for _, vars := range [][]string{environ, dotenv} {
		for _, kv := range vars {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v
			}
		}
	}
	return ""
}

// readDotEnv reads path as a .env file and returns, in environ form, the
// variables that environ does not already set.
func readDotEnv(path string, explicit bool, environ []string) ([]string, error) {
	vars, err := godotenv.Read(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("config: env file: %w", err)
	}
	set := make(map[string]bool, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		if !set[k] {
			out = append(out, k+"="+v)
		}
	}
	slices.Sort(out)
	return out, nil
}

// loadFile merges the TOML file at path into k after checking that it sets
// only known keys.
func loadFile(k *koanf.Koanf, path string, explicit bool) error {
	if _, err := os.Stat(path); err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("config: %w", err)
	}
	fk := koanf.New(".")
	if err := fk.Load(file.Provider(path), toml.Parser()); err != nil {
		if de, ok := errors.AsType[*gotoml.DecodeError](err); ok {
			row, col := de.Position()
			return fmt.Errorf("config: %s:%d:%d: %w", path, row, col, err)
		}
		return fmt.Errorf("config: %s: %w", path, err)
	}
	known := make(map[string]bool)
	for _, key := range Keys() {
		known[key] = true
	}
	for _, key := range lists {
		known[key] = true
	}
	for _, key := range fk.Keys() {
		if !known[key] {
			return fmt.Errorf("config: %s: unknown key %q", path, key)
		}
	}
	return k.Merge(fk)
}

// envKey maps an environment variable name to a key, or "" to ignore it:
// WHISPEER_SERVER_JWT_SECRET becomes server.jwt_secret. Only the first
// segment after the prefix is the section, so keys keep their underscores.
func envKey(name string) string {
	rest, ok := strings.CutPrefix(name, EnvPrefix)
	if !ok {
		return ""
	}
	section, key, ok := strings.Cut(strings.ToLower(rest), "_")
	if !ok {
		return ""
	}
	return knownKey(section + "." + key)
}

// flagKey maps a changed flag to its key and value; flags that name no key
// (--config, --env-file, flags of other packages) are ignored. A '-' in a
// flag name stands for '_', for flag sets that spell keys with hyphens.
func flagKey(f *pflag.Flag) (string, any) {
	key := knownKey(strings.ReplaceAll(f.Name, "-", "_"))
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return key, sv.GetSlice()
	}
	return key, f.Value.String()
}

// knownKey returns key if it is a scalar configuration key, else "".
func knownKey(key string) string {
	if slices.Contains(Keys(), key) {
		return key
	}
	return ""
}

// decode unmarshals the merged layers into c. Unknown keys, and durations
// given as bare numbers, are errors.
func decode(k *koanf.Koanf, c *Config) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(durationHook, listHook),
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		TagName:          "koanf",
		Result:           c,
	})
	if err != nil {
		return err
	}
	return d.Decode(k.Raw())
}

// durationHook parses duration strings such as "30s" and refuses numbers,
// which would silently mean nanoseconds.
func durationHook(_, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch v := data.(type) {
	case time.Duration:
		return v, nil
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("invalid duration %q (want a value such as \"30s\" or \"5m\")", v)
		}
		return d, nil
	}
	return nil, fmt.Errorf("invalid duration %v (want a quoted value such as \"30s\")", data)
}

// listHook splits a string into a list of strings at commas, trimming
// spaces, for lists set by an environment variable: "logging, metrics"
// becomes ["logging", "metrics"] and "" an empty list.
func listHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice || to.Elem().Kind() != reflect.String {
		return data, nil
	}
	s := strings.TrimSpace(data.(string))
	if s == "" {
		return []string{}, nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

// mapProvider is a koanf.Provider of a fixed nested map.
type mapProvider map[string]any

// Read returns the map.
func (m mapProvider) Read() (map[string]any, error) { return m, nil }

// ReadBytes is not supported.
func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("config: map provider has no bytes")
}

var _ koanf.Provider = mapProvider(nil)
