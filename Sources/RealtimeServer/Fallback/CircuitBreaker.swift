/// Whether the mirror sends to the Realtime Database now. Closed: every batch is sent. After
/// `failureThreshold` failures in a row it opens: nothing is sent for `openDuration` (doubling on each failed
/// trial, up to `maxOpenDuration`), so a database that is down is not hammered and the queue, not the sockets,
/// absorbs the wait. Then half-open: the next batch is the trial; its success closes the circuit, its failure
/// opens it again.
struct CircuitBreaker: Sendable, Equatable {
    enum State: Sendable, Equatable {
        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen

        /// The gauge's value: 0 closed, 1 half-open, 2 open.
        var gauge: Double {
            switch self {
            case .closed: 0
            case .halfOpen: 1
            case .open: 2
            }
        }
    }

    private(set) var state = State.closed
    private(set) var consecutiveFailures = 0
    let failureThreshold: Int
    let baseOpenDuration: Duration
    let maxOpenDuration: Duration
    private var openDuration: Duration

    init(
        failureThreshold: Int = 3, openDuration: Duration = .seconds(1), maxOpenDuration: Duration = .seconds(30)
    ) {
        self.failureThreshold = failureThreshold
        baseOpenDuration = openDuration
        self.maxOpenDuration = maxOpenDuration
        self.openDuration = openDuration
    }

    /// Whether a batch may be sent at `now`; an open circuit whose time is up becomes half-open and lets this
    /// one through as its trial.
    mutating func allowsRequest(at now: ContinuousClock.Instant) -> Bool {
        switch state {
        case .closed, .halfOpen:
            return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen
            return true
        }
    }

    mutating func succeeded() {
        state = .closed
        consecutiveFailures = 0
        openDuration = baseOpenDuration
    }

    /// Records a failure; true when it opened the circuit.
    @discardableResult
    mutating func failed(at now: ContinuousClock.Instant) -> Bool {
        consecutiveFailures += 1
        switch state {
        case .halfOpen:
            openDuration = min(openDuration * 2, maxOpenDuration)
        case .closed where consecutiveFailures >= failureThreshold:
            break
        case .closed, .open:
            return false
        }
        state = .open(until: now + openDuration)
        return true
    }
}
