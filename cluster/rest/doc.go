// Package rest is the JobManager's REST API, with Flink's paths and JSON
// shapes where Flink has them, so that Flink's tools and users' scripts
// find what they expect. openapi.yaml documents it; a test checks the
// document against the server: the same routes, and the properties it
// requires present in every answer.
//
// Errors are answered as Flink does: a status code and {"errors": [...]}.
package rest
