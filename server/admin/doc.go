// Package admin is whispeer's admin HTTP API: a read-mostly JSON view of a
// running server for operators and for `whispeer status`, and the health
// and metrics endpoints that orchestrators and Prometheus poll.
//
// # Endpoints
//
//	GET    /api/status              version, uptime, counts and rates
//	GET    /api/topics              topics with subscribers, messages and last offset
//	                                (?pattern=sensor/# filters, ?limit=N caps; default 1000)
//	GET    /api/connections         the open client connections (?user=alice filters)
//	DELETE /api/connections/{id}    close one connection
//	GET    /api/topics/{topic}/presence  who is subscribed to a topic or pattern
//	                                (slashes escaped: chat%2Froom; ?limit=N caps)
//	DELETE /api/users/{user}/connections  close a user's connections
//	GET    /api/revocations, POST /api/revocations  revoked token ids
//	POST   /api/publish             publish a message for an application's backend
//	POST   /api/publish/batch       publish many
//	GET    /api/topics/{topic}      one topic (its slashes escaped: chat%2Froom)
//	GET    /api/topics/{topic}/history  a page of its history
//	GET    /api/nodes               the nodes of the server's cluster, or the server alone,
//	                                with their connections and subscriptions
//	GET    /healthz                 200 while the process serves HTTP
//	GET    /readyz                  200 once the server listens, its broker is open and,
//	                                in a cluster, Redis answers; else 503
//	GET    /metrics                 the Prometheus metrics, when the metrics plugin runs
//
// The /api endpoints require "Authorization: Bearer <token>" with the
// token of Options.Token or one of Options.Keys; with neither configured
// they answer 404, so the API is off unless an operator turns it on. A
// request without the header gets 401, with a wrong token 403; tokens are
// compared in constant time. A Key may publish and read only within its
// topic patterns, and use the operators' endpoints only with Admin set.
// The three other endpoints need no token unless Options.AuthHealth is
// set. Errors are JSON, [ErrorBody]: {"error": "…", "code": "…"} with the
// code of the protocols' errors; a method an endpoint does not take gets
// 405 with an Allow header. docs/openapi.yaml describes every endpoint.
//
// The publish, history and user endpoints need a Source that is also a
// [Backend], the topic endpoint a [TopicDescriber]. A Source that is a
// [ClusterSource], a node of a cluster, answers the status, topics,
// connections, presence and a user's disconnect for every node, naming
// the nodes that did not answer in time in "missing_nodes".
//
// A [Handler] reports on and acts upon a [Source], which a whispeer
// server implements; [Handler.Register] mounts it on an http.ServeMux, next
// to the WebSocket endpoint or on a listener of its own.
//
// # Concurrency
//
// A Handler is safe for concurrent use; it calls its Source from the
// goroutines of concurrent requests.
package admin
