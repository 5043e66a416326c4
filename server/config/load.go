package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

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
	if err := loadEnv(k, dotenv, func(v string) string { return envFile + ": " + v }); err != nil {
		return nil, err
	}
	if err := loadEnv(k, environ, func(v string) string { return "environment variable " + v }); err != nil {
		return nil, err
	}
	if opts.Flags != nil {
		fk := koanf.New(".")
		if err := fk.Load(posflag.ProviderWithFlag(opts.Flags, ".", nil, flagKey), nil); err != nil {
			return nil, fmt.Errorf("config: flags: %w", err)
		}
		if err := mergeChecked(k, fk, true, func(key string) string { return "flag --" + key }); err != nil {
			return nil, err
		}
	}

	var c Config
	if err := decode(k.Raw(), &c, true); err != nil {
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
	return mergeChecked(k, fk, false, func(string) string { return path })
}

// loadEnv merges the WHISPEER_ variables of vars, in environ form, into k;
// source names a variable in errors.
func loadEnv(k *koanf.Koanf, vars []string, source func(name string) string) error {
	p := env.Provider(".", env.Opt{
		Prefix:        EnvPrefix,
		TransformFunc: func(name, value string) (string, any) { return envKey(name), value },
		EnvironFunc:   func() []string { return vars },
	})
	ek := koanf.New(".")
	if err := ek.Load(p, nil); err != nil {
		return fmt.Errorf("config: environment: %w", err)
	}
	return mergeChecked(k, ek, true, func(key string) string { return source(EnvVar(key)) })
}

// mergeChecked merges layer into k after decoding each of its keys on its
// own, so that a value of the wrong type is reported with its key and
// source(key), the file, variable or flag it came from. Every bad key is
// reported. text says whether the layer's values are text, as those of
// variables and flags are, or typed, as a TOML file's are.
func mergeChecked(k, layer *koanf.Koanf, text bool, source func(key string) string) error {
	var errs []error
	for _, key := range layer.Keys() {
		one := koanf.New(".")
		if err := one.Set(key, layer.Get(key)); err != nil {
			return fmt.Errorf("config: %s: %w", source(key), err)
		}
		if err := decode(one.Raw(), new(Config), text); err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", source(key), keyError(err)))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return k.Merge(layer)
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

// mapProvider is a koanf.Provider of a fixed nested map.
type mapProvider map[string]any

// Read returns the map.
func (m mapProvider) Read() (map[string]any, error) { return m, nil }

// ReadBytes is not supported.
func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("config: map provider has no bytes")
}

var _ koanf.Provider = mapProvider(nil)
