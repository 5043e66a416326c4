package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// decode unmarshals m, a layer or the merged layers, into c. Unknown keys,
// values of the wrong type and durations given as bare numbers are errors;
// nothing is coerced (see strictHook). text says whether m's values may be
// text to parse, as those of environment variables and flags are; a TOML
// file's values have types of their own.
func decode(m map[string]any, c *Config, text bool) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:  mapstructure.ComposeDecodeHookFunc(durationHook, listHook, strictHook(text)),
		ErrorUnused: true,
		TagName:     "koanf",
		Result:      c,
	})
	if err != nil {
		return err
	}
	return d.Decode(m)
}

// keyError rewrites an error of decode as "key: reason", dropping
// mapstructure's quoting of the key.
func keyError(err error) error {
	if de, ok := errors.AsType[*mapstructure.DecodeError](err); ok {
		return fmt.Errorf("%s: %w", de.Name(), de.Unwrap())
	}
	return err
}

// strictHook returns a hook that accepts a value for a boolean, integer,
// float or string field only if it has that type or, when text is true, if
// it is a string that parses completely as one: a TOML boolean is no port,
// 18520.5 no integer and 127 no host name. Without it mapstructure
// truncates floats into integers. Durations are durationHook's.
func strictHook(text bool) mapstructure.DecodeHookFuncType {
	return func(_, to reflect.Type, data any) (any, error) {
		if to == durationType || data == nil {
			return data, nil
		}
		v := reflect.ValueOf(data)
		if v.Kind() == reflect.String && !text && to.Kind() != reflect.String && wants(to) != "" {
			return nil, wrongType(wants(to), data)
		}
		switch to.Kind() {
		case reflect.Bool:
			return strictBool(v)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return strictInt(v, to)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return strictUint(v, to)
		case reflect.Float32, reflect.Float64:
			return strictFloat(v, to)
		case reflect.String:
			return strictString(v, to)
		}
		return data, nil
	}
}

var (
	boolType   = reflect.TypeFor[bool]()
	secretType = reflect.TypeFor[Secret]()
)

// wants describes the values a field of type to takes, or returns "" for
// types that strictHook leaves alone.
func wants(to reflect.Type) string {
	switch to.Kind() {
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return ""
}

// strictString accepts a string, or for a Size a whole number of bytes.
func strictString(v reflect.Value, to reflect.Type) (any, error) {
	switch {
	case v.Kind() == reflect.String:
		return v.Interface(), nil
	case to == sizeType && v.CanInt() && v.Int() >= 0:
		return strconv.FormatInt(v.Int(), 10), nil
	case to == sizeType:
		return nil, wrongType("a size such as \"512MiB\"", v.Interface())
	case to == secretType: // the value is not shown
		return nil, fmt.Errorf("want a string, got %s", kindOf(v.Interface()))
	}
	return nil, wrongType("a string", v.Interface())
}

func strictBool(v reflect.Value) (any, error) {
	switch v.Kind() {
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.String:
		if b, err := strconv.ParseBool(v.String()); err == nil {
			return b, nil
		}
	}
	return nil, wrongType(wants(boolType), v.Interface())
}

func strictInt(v reflect.Value, to reflect.Type) (any, error) {
	var n int64
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n = v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() > 1<<63-1 {
			return nil, outOfRange(v.Interface())
		}
		n = int64(v.Uint())
	case reflect.String:
		var err error
		if n, err = strconv.ParseInt(v.String(), 10, 64); err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, outOfRange(v.Interface())
			}
			return nil, wrongType(wants(to), v.Interface())
		}
	default:
		return nil, wrongType(wants(to), v.Interface())
	}
	if reflect.Zero(to).OverflowInt(n) {
		return nil, outOfRange(v.Interface())
	}
	return n, nil
}

func strictUint(v reflect.Value, to reflect.Type) (any, error) {
	var n uint64
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() < 0 {
			return nil, outOfRange(v.Interface())
		}
		n = uint64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n = v.Uint()
	case reflect.String:
		var err error
		if n, err = strconv.ParseUint(v.String(), 10, 64); err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, outOfRange(v.Interface())
			}
			return nil, wrongType(wants(to), v.Interface())
		}
	default:
		return nil, wrongType(wants(to), v.Interface())
	}
	if reflect.Zero(to).OverflowUint(n) {
		return nil, outOfRange(v.Interface())
	}
	return n, nil
}

func strictFloat(v reflect.Value, to reflect.Type) (any, error) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return v.Float(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), nil
	case reflect.String:
		if f, err := strconv.ParseFloat(v.String(), to.Bits()); err == nil {
			return f, nil
		}
	}
	return nil, wrongType(wants(to), v.Interface())
}

// wrongType is the error for data where want was expected.
func wrongType(want string, data any) error {
	return fmt.Errorf("want %s, got %s", want, describe(data))
}

// outOfRange is the error for a number too large or small for its field.
func outOfRange(data any) error {
	return fmt.Errorf("%s is out of range", describe(data))
}

// maxShown bounds how much of a string value an error quotes.
const maxShown = 64

// kindOf names data's TOML type, as describe does, without its value.
func kindOf(data any) string {
	switch data.(type) {
	case bool:
		return "a boolean"
	case float32, float64:
		return "a number"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "an integer"
	case time.Time:
		return "a date-time"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a value of type %T", data)
}

// describe names data's TOML type and shows a bounded excerpt of its
// value: `the string "8080"`, `the number 18520.5`, `the boolean true`.
func describe(data any) string {
	switch v := data.(type) {
	case string:
		if len(v) > maxShown {
			v = v[:maxShown] + "…"
		}
		return fmt.Sprintf("the string %q", v)
	case bool:
		return fmt.Sprintf("the boolean %t", v)
	case float32, float64:
		return fmt.Sprintf("the number %v", v)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprintf("the integer %d", v)
	case time.Time:
		return "the date-time " + v.Format(time.RFC3339)
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a value of type %T", data)
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
