import Logging

/// The client logs its reconnect attempts; the tests that provoke them need not show them.
let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
