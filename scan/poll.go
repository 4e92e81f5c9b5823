package scan

import "context"

// pollEvery is how many units of work (a source, a probe, a host) pass
// between two looks at the context: a unit costs tens of nanoseconds to
// a few microseconds, so a cancelled analysis stops within about a
// millisecond of work, and the look (a mutex in context.cancelCtx) costs
// nothing measurable.
const pollEvery = 1024

// poll watches a context for a loop that runs long. One per goroutine.
type poll struct {
	ctx context.Context
	n   int
	err error
}

func newPoll(ctx context.Context) *poll { return &poll{ctx: ctx} }

// stop is work(1).
func (p *poll) stop() bool { return p.work(1) }

// work counts units of work done and reports whether the context has
// ended, looking at it once every pollEvery units; once ended it stays
// ended.
func (p *poll) work(units int) bool {
	if p.err != nil {
		return true
	}
	if p.n += units; p.n >= pollEvery {
		p.n = 0
		p.err = p.ctx.Err()
	}
	return p.err != nil
}

// now looks at the context at once (between stages).
func (p *poll) now() error {
	if p.err == nil {
		p.err = p.ctx.Err()
	}
	return p.err
}
