"""carepair's common library: event contracts, the event store, messaging and the service runtime."""
