extension ProviderStateMachine {
    /// Whether a fetch is in flight.
    public var isFetching: Bool {
        switch state {
        case .loading, .refreshing: true
        case .empty, .ready, .removed: false
        }
    }

    /// The state's name for status output.
    public var stateName: String {
        switch state {
        case .empty: "empty"
        case .loading: "loading"
        case .ready: "ready"
        case .refreshing: "refreshing"
        case .removed: "removed"
        }
    }

    /// Consecutive failures.
    public var failures: Int {
        switch state {
        case .empty(let empty), .loading(let empty): empty.failures
        case .ready(let ready), .refreshing(let ready): ready.failures
        case .removed: 0
        }
    }

    /// The last failure since keys were last confirmed.
    public var lastError: FetchFailure? {
        switch state {
        case .empty(let empty), .loading(let empty): empty.lastError
        case .ready(let ready), .refreshing(let ready): ready.lastError
        case .removed: nil
        }
    }
}
