/// The life of one request, from its headers to libmicrohttpd's completion notice: every state and
/// every transition of the server's request handling, in one place, with no I/O (the server's
/// callbacks feed it events and carry out the actions it returns; unit tests drive it directly).
///
/// libmicrohttpd calls the access handler once when the headers are in, once per chunk of body,
/// once more when the body is complete, and once after a suspended connection is resumed; then it
/// calls the completion handler (also when the client went away, or the daemon stopped).
struct RequestLifecycle: Equatable {
    enum State: Equatable {
        /// Headers read; nothing decided yet.
        case started
        /// A request without a body, waiting for libmicrohttpd's final call (answering on the
        /// first call would make it close the connection: it cannot know the request is complete).
        case awaitingFinalCall
        /// Reading the body.
        case readingBody
        /// The body passed its limit: the rest is read and dropped, then 413.
        case discardingBody
        /// The route tries to answer on the event loop without blocking (a cached result, a 304).
        case tryingOnEventLoop
        /// The connection is suspended while a worker runs the handler.
        case suspended
        /// The response is queued (or the request was refused on its headers).
        case answered
        /// libmicrohttpd is done with the request; nothing may touch its connection any more.
        case completed
    }

    /// What the access handler learned from the headers.
    enum HeadersVerdict: Equatable {
        case noBody
        case body
        /// Refused on its headers (bad framing, too large, or the route's admission check): the
        /// response is queued at once and the body is never read.
        case refuse
    }

    enum Event: Equatable {
        case headers(HeadersVerdict)
        /// A chunk of body arrived; `fits` when it stays within the limit.
        case bodyChunk(fits: Bool)
        /// A call without body data: the request is complete (its final call), or, for a suspended
        /// connection, the worker resumed it. `onWorker` when the route may block.
        case complete(onWorker: Bool)
        /// The request is complete and its route may block, but answers on the event loop when it
        /// can do so without blocking (a cached result, a 304); only what needs computing or the
        /// disk goes to a worker.
        case completeTryingEventLoopFirst
        /// The outcome of that try: `answered`, or the request needs a worker.
        case triedOnEventLoop(answered: Bool)
        /// libmicrohttpd's completion notice; `answered` is false when the client disconnected or
        /// the daemon stopped before a response was sent.
        case completed
    }

    enum Action: Equatable {
        /// Return YES and wait for the next call.
        case proceed
        /// Queue the refusal response now; libmicrohttpd closes the connection without reading the body.
        case refuse
        case appendChunk
        case dropChunk
        /// Run the handler on this event loop and queue its response.
        case respondNow
        /// Queue the 413 for a body that passed its limit.
        case respondTooLarge
        /// Run the route's non-blocking attempt on this event loop, then report `triedOnEventLoop`.
        case tryOnEventLoop
        /// Queue the response the attempt on the event loop gave.
        case queueEventLoopResponse
        /// Suspend the connection and hand the request to a worker.
        case suspendAndDispatch
        /// Queue the response the worker left.
        case queueWorkerResponse
        /// Release the request's state. `answered` tells whether a response was queued.
        case release(answered: Bool)
        /// A call that cannot happen in this state: answer NO (libmicrohttpd closes the connection).
        case reject
    }

    private(set) var state: State = .started

    mutating func handle(_ event: Event) -> Action {
        switch (state, event) {
        case (.started, .headers(.noBody)):
            state = .awaitingFinalCall
            return .proceed
        case (.started, .headers(.body)):
            state = .readingBody
            return .proceed
        case (.started, .headers(.refuse)):
            state = .answered
            return .refuse

        case (.readingBody, .bodyChunk(fits: true)):
            return .appendChunk
        case (.readingBody, .bodyChunk(fits: false)):
            state = .discardingBody
            return .dropChunk
        case (.discardingBody, .bodyChunk):
            return .dropChunk
        // libmicrohttpd may deliver body bytes already received even after a refusal was queued.
        case (.answered, .bodyChunk):
            return .dropChunk

        case (.awaitingFinalCall, .complete(let onWorker)), (.readingBody, .complete(let onWorker)):
            state = onWorker ? .suspended : .answered
            return onWorker ? .suspendAndDispatch : .respondNow
        case (.awaitingFinalCall, .completeTryingEventLoopFirst), (.readingBody, .completeTryingEventLoopFirst):
            state = .tryingOnEventLoop
            return .tryOnEventLoop
        case (.tryingOnEventLoop, .triedOnEventLoop(let answered)):
            state = answered ? .answered : .suspended
            return answered ? .queueEventLoopResponse : .suspendAndDispatch
        case (.discardingBody, .complete), (.discardingBody, .completeTryingEventLoopFirst):
            state = .answered
            return .respondTooLarge
        // After a refusal libmicrohttpd may still make its final call: nothing more to do.
        case (.answered, .complete), (.answered, .completeTryingEventLoopFirst):
            return .proceed

        // Only the worker resumes a suspended connection, after it left the response.
        case (.suspended, .complete), (.suspended, .completeTryingEventLoopFirst):
            state = .answered
            return .queueWorkerResponse

        case (.completed, .completed):
            return .proceed
        case (let before, .completed):
            state = .completed
            return .release(answered: before == .answered)

        default:
            return .reject
        }
    }
}
