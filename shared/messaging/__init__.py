"""Events between services: the JetStream stream, the outbox relay, consumers and the HTTP feed."""
