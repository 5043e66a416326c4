package match_test

import (
	"fmt"
	"slices"

	"github.com/whispeer-io/whispeer/internal/match"
)

func ExampleSublist() {
	subs := match.New[string](match.DefaultCacheSize)
	subs.Insert("sensor/+/temperature", "thermostat")
	subs.Insert("sensor/#", "logger")
	subs.Insert("chat/*", "chat-bot")

	for _, topic := range []string{"sensor/kitchen/temperature", "sensor", "chat/general", "chat"} {
		got := slices.Sorted(slices.Values(subs.Match(topic))) // Match's slice is shared: sort a copy
		fmt.Println(topic, got)
	}
	// Output:
	// sensor/kitchen/temperature [logger thermostat]
	// sensor [logger]
	// chat/general [chat-bot]
	// chat []
}

func ExampleValidatePattern() {
	for _, p := range []string{"sensor/+/temperature", "chat/#", "#/chat", "a+", "a//b"} {
		fmt.Printf("%q: %v\n", p, match.ValidatePattern(p, match.DefaultLimits))
	}
	// Output:
	// "sensor/+/temperature": <nil>
	// "chat/#": <nil>
	// "#/chat": '#' is not the last level
	// "a+": wildcard mixed with other characters in a level
	// "a//b": empty level
}
