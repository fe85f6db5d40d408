// Package contract holds one test suite per storage port. Each suite is run
// against the in-memory fake and against every real adapter (see
// contract_test.go), so the fakes the use-case tests rely on behave as
// production does, and the adapters behave alike.
//
// A suite takes a factory that returns an empty store of the test's own;
// the suite calls it once per subtest.
package contract
