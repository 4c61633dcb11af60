import TopologyModel

/// Parsers for the unit-carrying values of environment files. Pure functions, tested on their own.
enum Units {
    /// Whole seconds: `3600s`, `60m`, `1h` or a bare number of seconds.
    static func seconds(_ text: String) -> Int? {
        let units: [(suffix: String, factor: Int)] = [("s", 1), ("m", 60), ("h", 3600)]
        for unit in units where text.hasSuffix(unit.suffix) {
            guard let value = Int(text.dropLast(unit.suffix.count)), value >= 0 else { return nil }
            let (seconds, overflow) = value.multipliedReportingOverflow(by: unit.factor)
            return overflow ? nil : seconds
        }
        return Int(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Whole milliseconds: `250ms`, `1s`, or a bare number of milliseconds.
    static func milliseconds(_ text: String) -> Int? {
        if text.hasSuffix("ms") { return Int(text.dropLast(2)).flatMap { $0 >= 0 ? $0 : nil } }
        if text.hasSuffix("s") {
            return Int(text.dropLast()).flatMap { $0 >= 0 && $0 <= Int.max / 1000 ? $0 * 1000 : nil }
        }
        return Int(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Binary memory sizes: `512Mi`, `2Gi`.
    static func memory(_ text: String) -> MemorySize? {
        if text.hasSuffix("Gi"), let value = Int(text.dropLast(2)), value > 0 {
            let (mebibytes, overflow) = value.multipliedReportingOverflow(by: 1024)
            return overflow ? nil : MemorySize(mebibytes: mebibytes)
        }
        if text.hasSuffix("Mi"), let value = Int(text.dropLast(2)), value > 0 { return MemorySize(mebibytes: value) }
        return nil
    }

    /// CPU as vCPUs (`1`, `2`, `0.5`) or millicores (`500m`).
    static func cpu(_ text: String) -> CPU? {
        if text.hasSuffix("m"), let millis = Int(text.dropLast()), millis > 0 { return CPU(millicores: millis) }
        guard let vcpus = Double(text), vcpus > 0, vcpus.isFinite, vcpus <= 1000 else { return nil }
        let millis = (vcpus * 1000).rounded()
        guard abs(millis - vcpus * 1000) < 1e-6 else { return nil }
        return CPU(millicores: Int(millis))
    }
}

extension ScalarDecoder where T == Int {
    static let duration = formatted(
        "duration", help: "write whole seconds, minutes or hours: 3600s, 60m, 1h",
        Units.seconds)
}

extension ScalarDecoder where T == Int {
    static let milliseconds = formatted(
        "duration", help: "write whole milliseconds or seconds: 250ms, 1s", Units.milliseconds)
}

extension ScalarDecoder where T == MemorySize {
    static let memory = formatted("memory size", help: "write mebibytes or gibibytes: 512Mi, 2Gi", Units.memory)
}

extension ScalarDecoder where T == CPU {
    static let cpu = formatted("CPU", help: "write vCPUs (1, 2, 0.5) or millicores (500m)", Units.cpu)
}

extension ScalarDecoder where T == IPv4Network {
    static let cidr = formatted("CIDR", rule: "TFC0201", help: "write an IPv4 block with no host bits: 10.20.0.0/16") {
        IPv4Network(parsing: $0)
    }
}

extension ScalarDecoder where T == RateLimit.Key {
    static let rateLimitKey = formatted(
        "rate limit key", rule: "TFC0506",
        help: "ip, xff-ip (the first X-Forwarded-For address), header:NAME or cookie:NAME"
    ) { RateLimit.Key($0) }
}
