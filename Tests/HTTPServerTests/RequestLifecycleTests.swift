@testable import HTTPServer
import Testing

/// Every transition of the request lifecycle, without a socket.
@Suite struct RequestLifecycleTests {
    typealias L = RequestLifecycle

    /// A lifecycle driven through `events`, returning the actions in order.
    func run(_ events: [L.Event]) -> (L, [L.Action]) {
        var lifecycle = L()
        let actions = events.map { lifecycle.handle($0) }
        return (lifecycle, actions)
    }

    @Test func aRequestWithoutABodyIsAnsweredOnTheFinalCall() {
        let (l, actions) = run([.headers(.noBody), .complete(onWorker: false), .completed])
        #expect(actions == [.proceed, .respondNow, .release(answered: true)])
        #expect(l.state == .completed)
    }

    @Test func aBodyIsAppendedThenAnswered() {
        let (l, actions) = run([.headers(.body), .bodyChunk(fits: true), .bodyChunk(fits: true), .complete(onWorker: false)])
        #expect(actions == [.proceed, .appendChunk, .appendChunk, .respondNow])
        #expect(l.state == .answered)
    }

    @Test func aBodyOverItsLimitIsDroppedAndAnswered413() {
        let (l, actions) = run([
            .headers(.body), .bodyChunk(fits: true), .bodyChunk(fits: false), .bodyChunk(fits: true), .complete(onWorker: true),
            .completed,
        ])
        #expect(actions == [.proceed, .appendChunk, .dropChunk, .dropChunk, .respondTooLarge, .release(answered: true)])
        #expect(l.state == .completed)
    }

    @Test func aRefusalOnTheHeadersIsAnsweredAtOnceAndIgnoresWhatFollows() {
        let (l, actions) = run([.headers(.refuse), .bodyChunk(fits: true), .complete(onWorker: false), .completed])
        #expect(actions == [.refuse, .dropChunk, .proceed, .release(answered: true)])
        #expect(l.state == .completed)
    }

    @Test func aBlockingRouteSuspendsAndIsAnsweredWhenResumed() {
        var l = L()
        #expect(l.handle(.headers(.body)) == .proceed)
        #expect(l.handle(.bodyChunk(fits: true)) == .appendChunk)
        #expect(l.handle(.complete(onWorker: true)) == .suspendAndDispatch)
        #expect(l.state == .suspended)
        // The worker resumed the connection: libmicrohttpd calls again.
        #expect(l.handle(.complete(onWorker: true)) == .queueWorkerResponse)
        #expect(l.state == .answered)
        #expect(l.handle(.completed) == .release(answered: true))
    }

    @Test func aBodilessBlockingRouteSuspendsToo() {
        let (l, actions) = run([.headers(.noBody), .complete(onWorker: true)])
        #expect(actions == [.proceed, .suspendAndDispatch])
        #expect(l.state == .suspended)
    }

    @Test func aClientThatDisconnectsIsReleasedUnanswered() {
        // While the body is read, while waiting for the final call, and while a worker runs.
        #expect(run([.headers(.body), .bodyChunk(fits: true), .completed]).1.last == .release(answered: false))
        #expect(run([.headers(.noBody), .completed]).1.last == .release(answered: false))
        #expect(run([.headers(.body), .bodyChunk(fits: false), .completed]).1.last == .release(answered: false))
        #expect(run([.headers(.noBody), .complete(onWorker: true), .completed]).1.last == .release(answered: false))
        #expect(run([.completed]).1 == [.release(answered: false)])
    }

    @Test func aSecondCompletionDoesNothing() {
        let (l, actions) = run([.headers(.noBody), .complete(onWorker: false), .completed, .completed])
        #expect(actions.last == .proceed)
        #expect(l.state == .completed)
    }

    @Test func callsThatCannotHappenAreRejected() {
        // Body data for a request that declared none, or after the request completed.
        #expect(run([.headers(.noBody), .bodyChunk(fits: true)]).1.last == .reject)
        #expect(run([.headers(.noBody), .complete(onWorker: false), .completed, .bodyChunk(fits: true)]).1.last == .reject)
        // Headers twice; body data while suspended; a final call before the headers.
        #expect(run([.headers(.body), .headers(.body)]).1.last == .reject)
        #expect(run([.headers(.body), .complete(onWorker: true), .bodyChunk(fits: true)]).1.last == .reject)
        #expect(run([.complete(onWorker: false)]).1 == [.reject])
        // Anything after completion.
        #expect(run([.completed, .complete(onWorker: false)]).1.last == .reject)
        #expect(run([.completed, .headers(.noBody)]).1.last == .reject)
    }

    @Test func aRespondedRequestIgnoresAnotherFinalCall() {
        let (l, actions) = run([.headers(.noBody), .complete(onWorker: false), .complete(onWorker: false)])
        #expect(actions.last == .proceed)
        #expect(l.state == .answered)
    }

    @Test func aRouteThatAnswersOnTheEventLoopIsNotSuspended() {
        let (l, actions) = run([.headers(.noBody), .completeTryingEventLoopFirst, .triedOnEventLoop(answered: true), .completed])
        #expect(actions == [.proceed, .tryOnEventLoop, .queueEventLoopResponse, .release(answered: true)])
        #expect(l.state == .completed)
    }

    @Test func aRouteThatCannotAnswerOnTheEventLoopGoesToAWorker() {
        var l = L()
        #expect(l.handle(.headers(.body)) == .proceed)
        #expect(l.handle(.bodyChunk(fits: true)) == .appendChunk)
        #expect(l.handle(.completeTryingEventLoopFirst) == .tryOnEventLoop)
        #expect(l.state == .tryingOnEventLoop)
        #expect(l.handle(.triedOnEventLoop(answered: false)) == .suspendAndDispatch)
        #expect(l.state == .suspended)
        // The worker resumed the connection: libmicrohttpd calls again.
        #expect(l.handle(.completeTryingEventLoopFirst) == .queueWorkerResponse)
        #expect(l.handle(.completed) == .release(answered: true))
        // The client left while the worker ran.
        #expect(run([.headers(.noBody), .completeTryingEventLoopFirst, .triedOnEventLoop(answered: false), .completed]).1.last
            == .release(answered: false))
    }

    @Test func tryingOnTheEventLoopHappensOnceAndOnlyForACompleteRequest() {
        // A body over its limit is 413 without trying; a refused request is not tried.
        #expect(run([.headers(.body), .bodyChunk(fits: false), .completeTryingEventLoopFirst]).1.last == .respondTooLarge)
        #expect(run([.headers(.refuse), .completeTryingEventLoopFirst]).1.last == .proceed)
        // An outcome without a try, a second outcome, or a try before the headers cannot happen.
        #expect(run([.headers(.noBody), .triedOnEventLoop(answered: true)]).1.last == .reject)
        #expect(
            run([.headers(.noBody), .completeTryingEventLoopFirst, .triedOnEventLoop(answered: true), .triedOnEventLoop(answered: false)])
                .1.last == .reject)
        #expect(run([.completeTryingEventLoopFirst]).1 == [.reject])
        // Answered: a later final call does nothing.
        #expect(
            run([.headers(.noBody), .completeTryingEventLoopFirst, .triedOnEventLoop(answered: true), .completeTryingEventLoopFirst])
                .1.last == .proceed)
    }
}
