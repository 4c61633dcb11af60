import Foundation
import Hummingbird
import Logging
import RealtimeServer

let configuration: ServerConfiguration
do {
    configuration = try ServerConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
} catch {
    FileHandle.standardError.write(Data("realtime-server: \(error)\n".utf8))
    exit(2)
}
let app = buildApplication(configuration: configuration) { port in
    // One line that tests and operators can wait for; with PORT=0 it carries the port the OS chose.
    print("{\"event\":\"listening\",\"host\":\"\(configuration.host)\",\"port\":\(port)}")
    fflush(nil)
}
try await app.runService()
