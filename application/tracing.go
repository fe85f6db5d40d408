package application

import "context"

// traced is embedded by the use cases that report their calls as spans.
// Without a tracer (tracing off, and in the use-case tests) a call costs
// one nil check and a deferred call of a no-op.
type traced struct {
	tracer Tracer
}

// TraceTo reports each call of the use case as a span to t.
func (h *traced) TraceTo(t Tracer) { h.tracer = t }

// span starts the span of one call, named after the use case.
func (h *traced) span(ctx context.Context, name string) (context.Context, func(error)) {
	if h.tracer == nil {
		return ctx, endNothing
	}
	return h.tracer.Start(ctx, name)
}

func endNothing(error) {}
